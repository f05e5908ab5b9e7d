"""The narrator and the clips' own dialogue: where a `[shot]` line can go without talking
over the people in the picture."""

from __future__ import annotations

from fractions import Fraction

from pipeline.model.timeline import Timeline

MARGIN = Fraction(15, 100)  # seconds of quiet kept between dialogue and narration


def shot_index(tl: Timeline, shot: str) -> int | None:
    """Index of the clip with this id (or label)."""
    for i, clip in enumerate(tl.video):
        if shot in (clip.id, clip.label):
            return i
    return None


def shot_end(tl: Timeline, index: int) -> Fraction:
    """Where clip `index` hands the picture to the next (the cut or the middle of the
    transition), or the end of the edit."""
    cuts = tl.cut_times()
    return cuts[index] if index < len(cuts) else tl.duration


def free_start(want: Fraction, length: Fraction, end: Fraction,
               spans: list[tuple[Fraction, Fraction]]) -> Fraction | None:
    """The earliest start at or after `want` where `length` seconds fit before `end`
    with MARGIN of quiet around every span; None when no gap fits."""
    t = want
    for a, b in sorted(spans):
        a, b = a - MARGIN, b + MARGIN
        if b <= t:
            continue
        if t + length <= a:
            break
        t = b
    return t if t + length <= end else None


def overlaps(start: Fraction, end: Fraction, spans: list[tuple[Fraction, Fraction]]) -> bool:
    return any(a < end and start < b for a, b in spans)
