"""stitch: join clips into one sequence, exact to the frame."""

from __future__ import annotations

from typing import ClassVar, Optional, Union

import click
from pydantic import BaseModel, ConfigDict, Field, field_validator

from pipeline.cli.kit import handle_errors
from pipeline.run.stage import StageContext
from pipeline.model.timeline import FIT_POLICIES, Timeline

Seconds = Union[float, int, str]


class ClipEdit(BaseModel):
    """Per-clip in/out points in source seconds (pipeline files)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    in_: Optional[Seconds] = Field(default=None, alias="in")
    out: Optional[Seconds] = None


class StitchParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    inputs: list[str] = Field(default_factory=list)  # media files appended to the track
    transition: Optional[Union[str, list[str]]] = None  # one for every cut, or one per cut; None: keep
    trim_head: float = Field(default=0.0, ge=0)
    trim_tail: float = Field(default=0.0, ge=0)
    clips: Union[list[ClipEdit], dict[str, ClipEdit]] = Field(default_factory=list)  # by position or id
    size: Optional[str] = None
    aspect: Optional[str] = None
    fps: Optional[Union[str, float, int]] = None
    fit: Optional[str] = None
    match_color: bool = False
    snap_to_beats: Optional[str] = None  # a music file

    @field_validator("transition")
    @classmethod
    def _transitions(cls, value: Optional[Union[str, list[str]]]) -> Optional[Union[str, list[str]]]:
        from pipeline.errors import InputError
        from pipeline.render.transitions import parse_transition

        if value is None:
            return None
        items = [value] if isinstance(value, str) else value
        if not items:
            raise ValueError("give at least one transition")
        for item in items:
            try:
                parse_transition(item, "transition")
            except InputError as exc:
                raise ValueError(str(exc).removeprefix("transition: ")) from None
        return value

    @field_validator("fit")
    @classmethod
    def _fit(cls, value: Optional[str]) -> Optional[str]:
        if value is not None and value not in FIT_POLICIES:
            raise ValueError(f"'{value}' is not one of {', '.join(FIT_POLICIES)}")
        return value


class StitchStage:
    """Edit the video track: canvas, in/out and trims, transitions, beat snapping, colour."""

    name: ClassVar[str] = "stitch"
    Params: ClassVar[type[BaseModel]] = StitchParams
    dry_run_exact: ClassVar[bool] = True  # apply() only edits the timeline: a dry run runs it

    def apply(self, tl: Timeline, params: BaseModel, ctx: StageContext) -> Timeline:
        from stages.stitch import sequence
        from pipeline.errors import InputError
        from pipeline.render.transitions import parse_transition
        from pipeline.timebase import to_fraction
        from pipeline.model.clips import append_clips, clip_from_media

        assert isinstance(params, StitchParams)
        tl = tl.copy()
        if params.inputs:
            append_clips(tl, [clip_from_media(ctx.resolve(p)) for p in params.inputs])
        if not tl.video:
            raise InputError("stitch: there are no clips to join (add shots or inputs)")
        sequence.set_canvas(tl, params.size, params.aspect, params.fps, params.fit)
        edits = params.clips.items() if isinstance(params.clips, dict) else enumerate(params.clips)
        ids = {c.id: i for i, c in enumerate(tl.video)}
        for key, edit in edits:
            index = ids.get(key) if isinstance(key, str) else key
            if index is None or index >= len(tl.video):
                raise InputError(f"stitch.clips: no clip '{key}' (clips: {', '.join(ids) or 'none'})")
            try:
                cin = to_fraction(edit.in_) if edit.in_ is not None else None
                cout = to_fraction(edit.out) if edit.out is not None else None
            except ValueError as exc:
                raise InputError(f"stitch.clips.{key}: {exc}") from None
            sequence.set_in_out(tl, index, cin, cout, f"stitch.clips.{key}")
        sequence.trim_clips(tl, to_fraction(params.trim_head), to_fraction(params.trim_tail))
        if params.transition is not None:
            names = [params.transition] if isinstance(params.transition, str) else params.transition
            sequence.set_transitions(tl, [parse_transition(n) for n in names])
        else:
            sequence.check_transitions(tl, "stitch")
        if params.snap_to_beats:
            self._snap(tl, str(ctx.resolve(params.snap_to_beats)), ctx)
        if params.match_color and len(tl.video) > 1:
            from stages.stitch.colorstats import match_colors

            for i, (clip, fix) in enumerate(zip(tl.video, match_colors(tl.video))):
                clip.color = fix
                if i and fix:
                    ctx.info(f"match colour: clip {i + 1} ({clip.id}): "
                             + ", ".join(f"{k} {v:g}" for k, v in fix.items()))
        tl.validate("stitch")
        return tl

    @staticmethod
    def _snap(tl: Timeline, music: str, ctx: StageContext) -> None:
        from fractions import Fraction

        from stages.stitch import sequence
        from pipeline.analysis.beats import beat_times
        from pipeline.model.media import probe_audio_source
        from pipeline.model.timeline import Marker

        probe_audio_source(music, "--snap-to-beats")
        beats = beat_times(music)["beats"]
        if not beats:
            ctx.warn(f"snap to beats: no beats found in {music}; cuts left where they are")
            return
        moves = sequence.snap_cuts_to_beats(tl, beats)
        for move in moves:
            ctx.info("snap to beats: " + move.describe())
        tl.markers = [m for m in tl.markers if m.kind != "beat"]
        tl.markers += [Marker(Fraction(b).limit_denominator(100000), "beat") for b in beats if b <= tl.duration]


STAGE = StitchStage


def _fit_choice() -> click.Choice:
    return click.Choice(list(FIT_POLICIES))


@click.command("stitch")
@click.argument("inputs", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="OUT.timeline.json writes the edit; .mp4/.mov/.mkv renders it.")
@click.option("--transition", "-t", "transitions", multiple=True, metavar="NAME[:SECONDS]",
              help="Between clips: cut (the default for new clips), fade, dissolve, fadeblack, fadewhite, wipeleft, wiperight, "
                   "wipeup, wipedown, slideleft, slideright, circleopen, smoothleft, smoothright or any other "
                   "ffmpeg xfade name; seconds default to 0.5. Give once for every cut, or once per cut.")
@click.option("--trim-head", type=float, default=0.0, show_default=True, metavar="SECONDS",
              help="Cut this much off the start of every clip.")
@click.option("--trim-tail", type=float, default=0.0, show_default=True, metavar="SECONDS",
              help="Cut this much off the end of every clip.")
@click.option("--size", metavar="WxH", help="Canvas size (even). Default: the first clip's size.")
@click.option("--aspect", metavar="W:H", help="Canvas aspect; the longer side keeps the first clip's.")
@click.option("--fps", metavar="RATE", help="Canvas frame rate (24, 25, 30000/1001...). Default: the first clip's.")
@click.option("--fit", type=_fit_choice(), default=None,
              help="How clips of another shape fill the canvas. Default: contain-blur.")
@click.option("--match-color", is_flag=True, help="Match each clip's colour to its predecessor across the seam.")
@click.option("--snap-to-beats", metavar="MUSIC", type=click.Path(dir_okay=False),
              help="Move each cut to the nearest beat of MUSIC (within each clip's media); prints the moves.")
@click.option("--no-stream-copy", is_flag=True, help="Always re-encode, even when the clips could be copied.")
@click.option("--overwrite", "-y", is_flag=True, help="Replace OUT if it already exists.")
@handle_errors
def command(inputs: tuple[str, ...], output: str, transitions: tuple[str, ...], trim_head: float,
            trim_tail: float, size: str | None, aspect: str | None, fps: str | None, fit: str | None,
            match_color: bool, snap_to_beats: str | None, no_stream_copy: bool, overwrite: bool) -> None:
    """Join INPUT clips (media files or .timeline.json) into one sequence.

    The canvas is the first clip's size and frame rate unless --size, --aspect or --fps
    say otherwise; clips of another shape are fitted (--fit). The sequence lasts the sum of
    the clips minus the transitions, exact to the frame. When the clips share codec, size,
    rate, pixel format and audio layout, every cut is hard and nothing is trimmed, a
    rendered output is stream-copied: no re-encode, packets unchanged.

    \b
    Example:
      reelforge stitch a.mp4 b.mp4 c.mp4 --transition fade:0.5 -o seq.timeline.json
      reelforge stitch a.mp4 b.mp4 -t dissolve:0.4 --trim-head 0.2 --size 1080x1920 -o seq.mp4
      reelforge stitch shot*.mp4 --snap-to-beats music.mp3 --match-color -o cut.mp4
      reelforge stitch take1.mp4 take2.mp4 -o joined.mp4     # stream copy when possible
    """
    from pathlib import Path

    from pipeline.cli.kit import check_output, emit, refuse_source_as_output, require_render_path
    from pipeline.errors import InputError
    from pipeline.run.stage import validate_params
    from pipeline.model.clips import is_timeline_path
    from pipeline.adapters.inputs import load_inputs

    out = check_output(output, [*inputs, *([snap_to_beats] if snap_to_beats else [])], overwrite)
    rendered = not is_timeline_path(out)
    if rendered:
        require_render_path(out)
    from pipeline.render.transitions import parse_transition

    for text in transitions:
        parse_transition(text, "--transition")
    for flag, value in (("--trim-head", trim_head), ("--trim-tail", trim_tail)):
        if value < 0:
            raise InputError(f"{flag} {value:g}: must not be negative")
    if snap_to_beats and not Path(snap_to_beats).is_file():
        raise InputError(f"--snap-to-beats {snap_to_beats}: no such file")
    raw = {"transition": list(transitions) or None, "trim_head": trim_head, "trim_tail": trim_tail,
           "size": size, "aspect": aspect, "fps": fps, "fit": fit, "match_color": match_color,
           "snap_to_beats": str(Path(snap_to_beats).resolve()) if snap_to_beats else None}
    stage = StitchStage()
    params = validate_params(stage, {k: v for k, v in raw.items() if v is not None}, "option")
    tl = stage.apply(load_inputs(inputs), params, StageContext())
    if rendered and not no_stream_copy:
        from stages.stitch.streamcopy import stream_copy, why_not_stream_copy

        refuse_source_as_output(tl, out)
        reason = why_not_stream_copy(tl)
        if reason is None:
            from pipeline.delivery.manifest import output_sealer

            seal = output_sealer(tl, out, tl.canvas.width, tl.canvas.height, transcoded=False)
            stream_copy(tl, out, seal=seal)
            click.echo(f"wrote {out} by stream copy (no re-encode, packets unchanged)", err=True)
            return
        click.echo(f"re-encoding: {reason}", err=True)
    emit(tl, out, label="stitch")
