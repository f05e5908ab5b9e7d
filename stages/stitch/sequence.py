"""Sequence edits on a timeline: canvas, trims, in/out points, transitions, beat snapping.

Each function edits the timeline in place and raises InputError naming the option (or
the clip) at fault. Times stay exact Fractions; transitions are whole frames so the
sequence length is exact to the frame.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Sequence

from pipeline.errors import InputError
from pipeline.timebase import fmt_timecode, frames_in, snap_to_frame, to_fraction, to_rate
from pipeline.model.timeline import FIT_POLICIES, MAX_SIDE, Canvas, Clip, Timeline, Transition


def parse_size(text: str, where: str = "--size") -> tuple[int, int]:
    """"1280x720" -> (1280, 720); both even and positive."""
    parts = str(text).lower().replace("×", "x").split("x")
    try:
        w, h = (int(p) for p in parts)
    except ValueError:
        raise InputError(f"{where} {text}: expected WIDTHxHEIGHT, e.g. 1280x720") from None
    if w <= 0 or h <= 0 or w % 2 or h % 2:
        raise InputError(f"{where} {text}: width and height must be positive and even")
    if max(w, h) > MAX_SIDE:
        raise InputError(f"{where} {text}: too large (at most {MAX_SIDE} px a side)")
    return w, h


def parse_aspect(text: str, where: str = "--aspect") -> Fraction:
    """"16:9", "9/16", "1.7778" -> Fraction."""
    s = str(text).strip().replace("/", ":")
    try:
        if ":" in s:
            a, b = s.split(":")
            value = Fraction(a) / Fraction(b)
        else:
            value = Fraction(s).limit_denominator(10000)
    except (ValueError, ZeroDivisionError):
        raise InputError(f"{where} {text}: expected W:H, e.g. 16:9") from None
    if value <= 0:
        raise InputError(f"{where} {text}: must be positive")
    return value


def size_for_aspect(aspect: Fraction, long_side: int) -> tuple[int, int]:
    """The even size with this aspect whose longer side is `long_side`."""
    def even(x: Fraction | float) -> int:
        return max(2, int(round(float(x) / 2)) * 2)

    if aspect >= 1:
        w = even(long_side)
        return w, even(w / aspect)
    h = even(long_side)
    return even(h * aspect), h


def set_canvas(tl: Timeline, size: str | None = None, aspect: str | None = None,
               fps: str | float | None = None, fit: str | None = None) -> None:
    """Override the canvas (default: the first clip's size and frame rate)."""
    c = tl.canvas
    w, h = c.width, c.height
    if size:
        w, h = parse_size(size)
        if aspect and abs(parse_aspect(aspect) - Fraction(w, h)) > Fraction(1, 100):
            raise InputError(f"--aspect {aspect}: disagrees with --size {size}; give one of them")
    elif aspect:
        w, h = size_for_aspect(parse_aspect(aspect), max(c.width, c.height))
    rate = c.fps
    if fps is not None and str(fps).strip():
        try:
            rate = to_rate(float(fps) if isinstance(fps, (int, float)) or "/" not in str(fps) else str(fps))
        except (ValueError, ZeroDivisionError):
            raise InputError(f"--fps {fps}: not a frame rate (e.g. 24, 30, 30000/1001)") from None
        if rate > 240:
            raise InputError(f"--fps {fps}: too high (at most 240)")
    if fit is not None:
        if fit not in FIT_POLICIES:
            raise InputError(f"--fit {fit}: not one of {', '.join(FIT_POLICIES)}")
        tl.fit = fit
    if size or aspect or fps is not None:
        tl.canvas = Canvas(width=w, height=h, fps=rate, sample_rate=c.sample_rate, channels=c.channels)
        tl.meta["canvas_fixed"] = True


def clip_name(i: int, clip: Clip) -> str:
    return f"clip {i + 1} ({clip.id or Path(clip.source).name})"


def set_in_out(tl: Timeline, index: int, in_point: Fraction | None, out_point: Fraction | None,
               where: str) -> None:
    """Set a clip's in and/or out point (source seconds); checked against its media."""
    clip = tl.video[index]
    new_in = clip.in_point if in_point is None else in_point
    new_out = clip.out_point if out_point is None else out_point
    name = clip_name(index, clip)
    if new_in < 0:
        raise InputError(f"{where}: {name}: in point {float(new_in):g}s is before the start")
    if clip.src_duration and new_out > clip.src_duration + Fraction(1, 1000):
        raise InputError(f"{where}: {name}: out point {float(new_out):g}s is past the end of the media "
                         f"({float(clip.src_duration):.3f}s)")
    if new_out - new_in < Fraction(1) / tl.canvas.fps:
        raise InputError(f"{where}: {name}: in {float(new_in):g}s / out {float(new_out):g}s leave less than one frame")
    clip.in_point, clip.out_point = new_in, new_out


def trim_clips(tl: Timeline, head: Fraction, tail: Fraction) -> None:
    """Cut `head` seconds off the start and `tail` off the end of every clip."""
    if head < 0 or tail < 0:
        raise InputError("--trim-head/--trim-tail: must not be negative")
    if not head and not tail:
        return
    for i, clip in enumerate(tl.video):
        if clip.source_duration - head - tail < Fraction(1) / tl.canvas.fps:
            raise InputError(f"--trim-head {float(head):g} --trim-tail {float(tail):g}: {clip_name(i, clip)} "
                             f"is only {float(clip.source_duration):.3f}s long")
        clip.in_point += head
        clip.out_point -= tail


def set_transitions(tl: Timeline, transitions: Sequence[Transition], where: str = "transition") -> None:
    """One transition for every cut, or one per cut; durations become whole frames."""
    cuts = len(tl.video) - 1
    if cuts <= 0:
        return
    if len(transitions) == 1:
        transitions = list(transitions) * cuts
    elif len(transitions) != cuts:
        raise InputError(f"{where}: {len(transitions)} transitions given for {cuts} cut(s); give one for all or one per cut")
    fps = tl.canvas.fps
    for i, tr in enumerate(transitions):
        if tr.is_cut:
            tl.video[i].transition = Transition("cut", Fraction(0))
            continue
        frames = max(1, frames_in(tr.duration, fps))
        tl.video[i].transition = Transition(tr.kind, Fraction(frames) / fps)
    check_transitions(tl, where)


def check_transitions(tl: Timeline, where: str) -> None:
    n = len(tl.video)
    for i in range(n - 1):
        tr = tl.video[i].transition
        if tr.is_cut:
            continue
        a, b = tl.video[i], tl.video[i + 1]
        if tr.duration >= a.duration or tr.duration >= b.duration:
            raise InputError(f"{where}: {tr.kind}:{float(tr.duration):g}s between {clip_name(i, a)} and "
                             f"{clip_name(i + 1, b)} must be shorter than both clips "
                             f"({float(a.duration):.3f}s, {float(b.duration):.3f}s)")
    for i in range(1, n - 1):
        used = sum(t.duration for t in (tl.video[i - 1].transition, tl.video[i].transition) if not t.is_cut)
        if used >= tl.video[i].duration:
            raise InputError(f"{where}: {clip_name(i, tl.video[i])} ({float(tl.video[i].duration):.3f}s) is shorter "
                             f"than its two transitions together ({float(used):.3f}s)")


@dataclass
class CutMove:
    """How far one cut moved to land on a beat (seconds on the timeline)."""

    cut: int  # 1-based: between clip `cut` and clip `cut + 1`
    before: Fraction
    after: Fraction
    beat: float | None  # None: no beat reachable within the clip's media

    @property
    def delta(self) -> Fraction:
        return self.after - self.before

    def describe(self) -> str:
        if self.beat is None:
            return f"cut {self.cut}: {fmt_timecode(self.before)} kept (no beat within reach of the media)"
        return (f"cut {self.cut}: {fmt_timecode(self.before)} -> {fmt_timecode(self.after)} "
                f"({float(self.delta) * 1000:+.0f} ms, beat at {self.beat:.3f}s)")


def snap_cuts_to_beats(tl: Timeline, beats: Sequence[float], max_shift: float | None = None) -> list[CutMove]:
    """Move each cut to the nearest beat by lengthening or shortening the clip before it
    (a ripple edit), within the media that clip has. Cuts are processed in order, so
    later cuts are measured after the earlier ones moved. Returns one CutMove per cut.
    """
    fps = tl.canvas.fps
    frame = Fraction(1) / fps
    beats = sorted(float(b) for b in beats)
    if max_shift is None:
        gaps = [b - a for a, b in zip(beats, beats[1:])]
        max_shift = (sorted(gaps)[len(gaps) // 2] if gaps else 1.0)
    moves: list[CutMove] = []
    for i in range(1, len(tl.video)):
        clip = tl.video[i - 1]
        starts = tl.clip_starts()
        tr = clip.transition
        half = (tr.duration / 2) if not tr.is_cut else Fraction(0)
        before = starts[i] + half
        # Shortest the clip may become: its transitions plus one frame.
        prev = tl.video[i - 2].transition if i >= 2 else None
        used = (tr.duration if not tr.is_cut else 0) + (prev.duration if prev and not prev.is_cut else 0)
        lo = -(clip.duration - used - frame)
        hi = (clip.src_duration - clip.out_point) if clip.src_duration else Fraction(0)
        best: tuple[Fraction, float] | None = None
        for b in beats:
            target_start = snap_to_frame(to_fraction(b) - half, fps)
            delta = target_start - starts[i]
            if lo <= delta <= hi and abs(float(delta)) <= max_shift + float(frame):
                if best is None or abs(delta) < abs(best[0]):
                    best = (delta, b)
        if best is None:
            moves.append(CutMove(i, before, before, None))
            continue
        delta, beat = best
        clip.out_point += delta
        moves.append(CutMove(i, before, before + delta, beat))
    return moves
