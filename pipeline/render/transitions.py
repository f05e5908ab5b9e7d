"""Transitions between clips: ffmpeg xfade for the picture, acrossfade for the sound.

Offsets are whole frames and whole samples taken from graph.clip_spans, so the joined
sequence has exactly the frame count of the timeline: clip i starts at frame f0[i], and
the overlap with clip i-1 is end[i-1] - f0[i] frames (the transition, snapped to frames).
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from pipeline.errors import InputError, did_you_mean
from pipeline.timebase import fmt_fraction, seconds_arg, to_fraction
from pipeline.model.timeline import Timeline, Transition

# Every transition name of ffmpeg's xfade filter (ffmpeg 7), plus "cut".
XFADE_NAMES: tuple[str, ...] = (
    "fade", "wipeleft", "wiperight", "wipeup", "wipedown", "slideleft", "slideright",
    "slideup", "slidedown", "circlecrop", "rectcrop", "distance", "fadeblack", "fadewhite",
    "radial", "smoothleft", "smoothright", "smoothup", "smoothdown", "circleopen",
    "circleclose", "vertopen", "vertclose", "horzopen", "horzclose", "dissolve", "pixelize",
    "diagtl", "diagtr", "diagbl", "diagbr", "hlslice", "hrslice", "vuslice", "vdslice",
    "hblur", "fadegrays", "wipetl", "wipetr", "wipebl", "wipebr", "squeezeh", "squeezev",
    "zoomin", "fadefast", "fadeslow", "hlwind", "hrwind", "vuwind", "vdwind", "coverleft",
    "coverright", "coverup", "coverdown", "revealleft", "revealright", "revealup", "revealdown",
)
TRANSITION_NAMES: tuple[str, ...] = ("cut",) + XFADE_NAMES
DEFAULT_SECONDS = Fraction(1, 2)
MAX_SECONDS = 60  # no transition is longer (and none is longer than its clips)


def parse_transition(text: str, where: str = "--transition") -> Transition:
    """"fade", "fade:0.5", "cut" -> Transition. Raises InputError naming `where`."""
    name, _, secs = str(text).strip().partition(":")
    name = name.strip().lower()
    if name not in TRANSITION_NAMES:
        hint = did_you_mean(name, TRANSITION_NAMES, "; see `reelforge stitch --help`")
        raise InputError(f"{where}: unknown transition '{name}'{hint}")
    if name == "cut":
        if secs.strip() and to_fraction_safe(secs, where) != 0:
            raise InputError(f"{where}: a cut has no duration")
        return Transition("cut", Fraction(0))
    duration = to_fraction_safe(secs, where) if secs.strip() else DEFAULT_SECONDS
    if duration <= 0:
        raise InputError(f"{where}: transition '{text}' needs a positive duration")
    if duration > MAX_SECONDS:
        raise InputError(f"{where}: transition '{text}' is longer than {MAX_SECONDS} s")
    return Transition(name, duration)


def to_fraction_safe(text: str, where: str) -> Fraction:
    try:
        return to_fraction(text.strip())
    except (ValueError, ZeroDivisionError):
        raise InputError(f"{where}: '{text}' is not a number of seconds") from None


def join_with_transitions(
    tl: Timeline, segments: list[tuple[Any, Any]], fps: Fraction | None = None, sample_rate: int | None = None
) -> tuple[Any, Any]:
    """Join exact-length (video, audio) segments made at `fps` and `sample_rate` (default:
    the canvas's); cuts concatenate, other transitions cross-fade (xfade), and the audio
    is cross-faded (acrossfade) over exactly the same span as the picture.
    """
    import ffmpeg

    from pipeline.render.spans import clip_spans

    fps = fps or tl.canvas.fps
    spans = clip_spans(tl, fps)
    v = segments[0][0]
    for i in range(1, len(segments)):
        nv = segments[i][0]
        tr = tl.video[i - 1].transition
        f0 = spans[i][0]
        overlap = spans[i - 1][0] + spans[i - 1][1] - f0
        if tr.is_cut or overlap <= 0:
            # concat answers in microseconds; xfade needs both inputs in the same time base.
            v = ffmpeg.concat(v, nv, v=1, a=0).filter("settb", fmt_fraction(1 / fps))
            continue
        v = ffmpeg.filter(
            [v, nv], "xfade", transition=tr.kind,
            duration=seconds_arg(Fraction(overlap) / fps),
            offset=seconds_arg(Fraction(f0) / fps),
        )
    return v, join_sound(tl, [a for _, a in segments], fps, sample_rate)


def join_sound(tl: Timeline, parts: list[Any], fps: Fraction | None = None, sample_rate: int | None = None) -> Any:
    """Join each clip's exact-length sound: butted at cuts, cross-faded (acrossfade) over
    the span of each transition, so the sound lasts exactly as long as the picture."""
    import ffmpeg

    from pipeline.render.spans import clip_spans, frames_to_samples

    fps = fps or tl.canvas.fps
    sample_rate = sample_rate or tl.canvas.sample_rate
    spans = clip_spans(tl, fps)
    a = parts[0]
    for i in range(1, len(parts)):
        tr = tl.video[i - 1].transition
        f0 = spans[i][0]
        prev_end = spans[i - 1][0] + spans[i - 1][1]
        if tr.is_cut or prev_end <= f0:
            a = ffmpeg.concat(a, parts[i], v=0, a=1)
            continue
        ns = frames_to_samples(prev_end, fps, sample_rate) - frames_to_samples(f0, fps, sample_rate)
        a = ffmpeg.filter([a, parts[i]], "acrossfade", ns=ns, c1="tri", c2="tri")
    return a
