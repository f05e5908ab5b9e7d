"""stitch: join clips into one sequence, exact to the frame."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, ClassVar, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, field_validator

from pipeline.run.command import CommandLine
from pipeline.run.params import Option
from pipeline.run.stage import StageContext
from pipeline.model.timeline import FIT_POLICIES, Timeline

Seconds = Union[float, int, str]
MAX_SECONDS = 3600  # trims: an hour is past any clip this is for
MAX_FPS = 240


class ClipEdit(BaseModel):
    """Per-clip in/out points in source seconds (pipeline files)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    in_: Optional[Seconds] = Field(default=None, alias="in")
    out: Optional[Seconds] = None


class StitchParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    inputs: Annotated[list[str], Option(cli=False)] = Field(default_factory=list)  # media appended to the track
    # one for every cut, or one per cut; None: keep
    transition: Annotated[Optional[Union[str, list[str]]], Option(
        "--transition", short="-t", metavar="NAME[:SECONDS]",
        help="Between clips: cut (the default for new clips), fade, dissolve, fadeblack, fadewhite, wipeleft, "
             "wiperight, wipeup, wipedown, slideleft, slideright, circleopen, smoothleft, smoothright or any other "
             "ffmpeg xfade name; seconds default to 0.5. Give once for every cut, or once per cut.")] = None
    trim_head: Annotated[float, Option(metavar="SECONDS", help="Cut this much off the start of every clip.")] = \
        Field(default=0.0, ge=0, le=MAX_SECONDS)
    trim_tail: Annotated[float, Option(metavar="SECONDS", help="Cut this much off the end of every clip.")] = \
        Field(default=0.0, ge=0, le=MAX_SECONDS)
    clips: Annotated[Union[list[ClipEdit], dict[str, ClipEdit]], Option(cli=False)] = \
        Field(default_factory=list)  # by position or id
    size: Annotated[Optional[str], Option(metavar="WxH", help="Canvas size (even). Default: the first clip's size.")] \
        = None
    aspect: Annotated[Optional[str], Option(
        metavar="W:H", help="Canvas aspect; the longer side keeps the first clip's.")] = None
    fps: Annotated[Optional[Union[str, float, int]], Option(
        metavar="RATE", help="Canvas frame rate (24, 25, 30000/1001...). Default: the first clip's.")] = None
    fit: Annotated[Optional[str], Option(
        choices=FIT_POLICIES, help="How clips of another shape fill the canvas. Default: contain-blur.")] = None
    match_color: Annotated[bool, Option(help="Match each clip's colour to its predecessor across the seam.")] = False
    snap_to_beats: Annotated[Optional[str], Option(metavar="MUSIC", role="input", help=(
        "Move each cut to the nearest beat of MUSIC (within each clip's media); prints the moves."))] = None
    stream_copy: Annotated[bool, Option("--no-stream-copy", help=(
        "Always re-encode, even when the clips could be copied."))] = True
    # pipeline files and the API: write the joined sequence to this file (the command line's -o)
    output: Annotated[Optional[str], Option(cli=False, role="output", help=(
        "Write the joined sequence to this video file: stream-copied when the clips allow it (see stream_copy), "
        "else rendered."))] = None

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

    @field_validator("fps")
    @classmethod
    def _fps(cls, value: Optional[Union[str, float, int]]) -> Optional[Union[str, float, int]]:
        from pipeline.timebase import to_rate

        if value is None or not str(value).strip():
            return value
        try:
            rate = to_rate(float(value) if isinstance(value, (int, float)) or "/" not in str(value) else str(value))
        except (ValueError, ZeroDivisionError, OverflowError):
            raise ValueError("not a frame rate (e.g. 24, 30, 30000/1001)") from None
        if not 1 <= rate <= MAX_FPS:
            raise ValueError(f"must be between 1 and {MAX_FPS} frames per second")
        return value

    @field_validator("output")
    @classmethod
    def _video(cls, value: Optional[str]) -> Optional[str]:
        from pipeline.files import VIDEO_EXTENSIONS, is_video_path

        if value is not None and not is_video_path(value):
            raise ValueError(f"must be a video file ({', '.join(VIDEO_EXTENSIONS)})")
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
    help: ClassVar[str] = """Join INPUT clips (media files or .timeline.json) into one sequence.

    The canvas is the first clip's size and frame rate unless --size, --aspect or --fps
    say otherwise; clips of another shape are fitted (--fit). The sequence lasts the sum of
    the clips minus the transitions, exact to the frame. When the clips share codec, size,
    rate, pixel format and audio layout, every cut is hard and nothing is trimmed, a
    rendered output is stream-copied: no re-encode, packets unchanged."""
    examples: ClassVar[tuple[str, ...]] = (
        "reelforge stitch a.mp4 b.mp4 c.mp4 --transition fade:0.5 -o seq.timeline.json",
        "reelforge stitch a.mp4 b.mp4 -t dissolve:0.4 --trim-head 0.2 --size 1080x1920 -o seq.mp4",
        "reelforge stitch shot*.mp4 --snap-to-beats music.mp3 --match-color -o cut.mp4",
        "reelforge stitch take1.mp4 take2.mp4 -o joined.mp4     # stream copy when possible")
    command_line: ClassVar[CommandLine] = CommandLine(output=Option(
        "--output", short="-o", help="OUT.timeline.json writes the edit; .mp4/.mov/.mkv renders it."))

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
        if params.output and not ctx.dry_run:
            self.render(tl, params, ctx.resolve(params.output), ctx)
        return tl

    def render(self, tl: Timeline, params: BaseModel, out: Path, ctx: StageContext) -> None:
        """Write the joined sequence: by stream copy when nothing needs a decode (and
        stream_copy is on), else rendered at the master preset's quality."""
        from pipeline.delivery.master import refuse_source_as_output, render_master
        from stages.stitch.streamcopy import stream_copy, why_not_stream_copy

        assert isinstance(params, StitchParams)
        refuse_source_as_output(tl, out)
        if params.stream_copy:
            reason = why_not_stream_copy(tl)
            if reason is None:
                from pipeline.delivery.manifest import output_sealer

                seal = output_sealer(tl, out, tl.canvas.width, tl.canvas.height, transcoded=False)
                stream_copy(tl, out, ctx.reporter, seal=seal)  # signed when content credentials are set
                ctx.reporter.info(f"wrote {out} by stream copy (no re-encode, packets unchanged)")
                ctx.outputs.append({"path": str(out), "kind": "joined sequence", "stream_copy": True})
                return
            ctx.reporter.info(f"re-encoding: {reason}")
        render_master(tl, out, label="stitch", reporter=ctx.reporter)
        ctx.reporter.info(f"wrote {out}")
        ctx.outputs.append({"path": str(out), "kind": "joined sequence", "stream_copy": False})

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
