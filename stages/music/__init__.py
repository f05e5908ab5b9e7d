"""music: a music bed under the picture (looped on a beat or trimmed, faded), ducked
under the voiceover, with the clips' own sound kept at a chosen level or muted."""

from __future__ import annotations

from typing import ClassVar, Literal, Optional, Union

import click
from pydantic import BaseModel, ConfigDict, Field

from pipeline.cli.kit import handle_errors, inputs_argument, output_option
from pipeline.run.stage import StageContext
from pipeline.model.timeline import Timeline


class MusicParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    track: str
    gain_db: float = Field(default=-6.0, ge=-60, le=20)
    duck_db: float = Field(default=12.0, ge=0, le=60)
    fade_in: float = Field(default=0.5, ge=0)
    fade_out: float = Field(default=1.5, ge=0)
    loop: bool = True
    start: float = Field(default=0.0, ge=0)
    original_audio_db: Optional[Union[float, Literal["mute"]]] = None


class MusicStage:
    """Put one music bed on the music track (replacing any there)."""

    name: ClassVar[str] = "music"
    Params: ClassVar[type[BaseModel]] = MusicParams
    dry_run_exact: ClassVar[bool] = True  # apply() only edits the timeline: a dry run runs it

    def apply(self, tl: Timeline, params: BaseModel, ctx: StageContext) -> Timeline:
        from pipeline.errors import InputError
        from pipeline.model.media import probe_audio_source
        from stages.music.bed import bed_item
        from pipeline.timebase import to_fraction
        from pipeline.model.timeline import Ducking

        assert isinstance(params, MusicParams)
        tl.require_clips("music")
        path = ctx.resolve(params.track)
        info = probe_audio_source(path, "--track")
        start = to_fraction(params.start)
        need = tl.duration - start
        if need <= 0:
            raise InputError(f"--start {params.start}: the picture is only {float(tl.duration):.2f}s long")
        tl = tl.copy()
        item = bed_item(str(path), float(info.duration), need, start, params.loop,
                        to_fraction(params.fade_in), to_fraction(params.fade_out), params.gain_db)
        trk = tl.track("music")
        trk.items = [item]
        trk.duck = Ducking(under="voiceover", amount_db=params.duck_db) if params.duck_db > 0 else None
        if params.original_audio_db == "mute":
            tl.track("original").muted = True
        elif params.original_audio_db is not None:
            orig = tl.track("original")
            orig.muted, orig.gain_db = False, float(params.original_audio_db)
        how = (f"looped {float(item.out_point - item.loop_start):.2f}s on beats" if item.loop
               else f"{float(item.duration):.2f}s")
        ctx.info(f"music: {path.name}, {how}, ducking {params.duck_db:g} dB under the voice")
        tl.provenance.append({"music": path.name, "loop": item.loop})
        return tl


STAGE = MusicStage


def _original_level(ctx: click.Context, param: click.Parameter, value: str | None) -> object:
    if value is None or value == "mute":
        return value
    try:
        return float(value)
    except ValueError:
        raise click.BadParameter("give a level in dB (e.g. -18) or 'mute'") from None


@click.command("music")
@inputs_argument
@click.option("--track", required=True, type=click.Path(dir_okay=False), help="The music file.")
@click.option("--gain-db", type=float, default=-6.0, show_default=True, help="Level of the music.")
@click.option("--duck-db", type=float, default=12.0, show_default=True,
              help="How far the music drops while the voice speaks (0: no ducking).")
@click.option("--fade-in", type=float, default=0.5, show_default=True, help="Fade-in seconds.")
@click.option("--fade-out", type=float, default=1.5, show_default=True, help="Fade-out seconds at the end.")
@click.option("--loop/--no-loop", default=True, show_default=True,
              help="Loop a track shorter than the picture (crossfaded on a beat).")
@click.option("--start", type=float, default=0.0, show_default=True, help="Where the music starts (seconds).")
@click.option("--original-audio-db", "original", metavar="G|mute", callback=_original_level,
              help="Level of the clips' own sound in dB, or 'mute'. Default: unchanged.")
@output_option()
@handle_errors
def command(inputs: tuple[str, ...], track: str, gain_db: float, duck_db: float, fade_in: float,
            fade_out: float, loop: bool, start: float, original: object, output: str, overwrite: bool) -> None:
    """Lay a music bed under INPUT, ducked under the voiceover.

    \b
    Example:
      reelforge music vo.timeline.json --track bed.m4a --gain-db -8 --original-audio-db mute \\
          -o scored.timeline.json
    """
    from pipeline.cli.kit import run_stage_command

    raw = {"track": track, "gain_db": gain_db, "duck_db": duck_db, "fade_in": fade_in, "fade_out": fade_out,
           "loop": loop, "start": start, "original_audio_db": original}
    run_stage_command("music", inputs, raw, output, overwrite, reads=[track])
