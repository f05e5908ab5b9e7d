"""music: a music bed under the picture (looped on a beat or trimmed, faded), ducked
under the voiceover, with the clips' own sound kept at a chosen level or muted."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, field_validator

from pipeline.run.params import Option
from pipeline.run.stage import StageContext
from pipeline.model.timeline import Timeline

MAX_SECONDS = 3600  # fades and start: an hour is past any edit this is for


class MusicParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    track: Annotated[str, Option(help="The music file.", role="input")]
    gain_db: Annotated[float, Option(help="Level of the music.")] = Field(default=-6.0, ge=-60, le=20)
    duck_db: Annotated[float, Option(help="How far the music drops while the voice speaks (0: no ducking).")] = \
        Field(default=12.0, ge=0, le=60)
    fade_in: Annotated[float, Option(help="Fade-in seconds.")] = Field(default=0.5, ge=0, le=MAX_SECONDS)
    fade_out: Annotated[float, Option(help="Fade-out seconds at the end.")] = Field(default=1.5, ge=0, le=MAX_SECONDS)
    loop: Annotated[bool, Option(help="Loop a track shorter than the picture (crossfaded on a beat).")] = True
    start: Annotated[float, Option(help="Where the music starts (seconds).")] = Field(default=0.0, ge=0, le=MAX_SECONDS)
    original_audio_db: Annotated[Optional[Union[float, Literal["mute"]]], Option(
        metavar="G|mute", help="Level of the clips' own sound in dB, or 'mute'. Default: unchanged.")] = None

    @field_validator("original_audio_db", mode="before")
    @classmethod
    def _level(cls, value: Any) -> Any:
        if value is None or value == "mute":
            return value
        try:
            level = float(value)
        except (TypeError, ValueError):
            raise ValueError("give a level in dB (e.g. -18) or 'mute'") from None
        if not -60 <= level <= 60:
            raise ValueError("must be between -60 and 60 dB (or 'mute')")
        return level


class MusicStage:
    """Put one music bed on the music track (replacing any there)."""

    name: ClassVar[str] = "music"
    Params: ClassVar[type[BaseModel]] = MusicParams
    help: ClassVar[str] = "Lay a music bed under INPUT, ducked under the voiceover."
    examples: ClassVar[tuple[str, ...]] = (
        "reelforge music vo.timeline.json --track bed.m4a --gain-db -8 --original-audio-db mute \\\n"
        "    -o scored.timeline.json",)

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
