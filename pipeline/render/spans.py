"""Where each clip falls on an output timeline, in whole frames and samples."""

from __future__ import annotations

from fractions import Fraction

from pipeline.model.timeline import Timeline
from pipeline.timebase import frames_in, samples_in


def clip_spans(tl: Timeline, fps: Fraction) -> list[tuple[int, int]]:
    """(first frame, frame count) of each clip on the output timeline at `fps`."""
    spans = []
    for clip, start in zip(tl.video, tl.clip_starts()):
        f0 = frames_in(start, fps)
        f1 = frames_in(start + clip.duration, fps)
        spans.append((f0, f1 - f0))
    return spans


def total_frames(tl: Timeline, fps: Fraction) -> int:
    return frames_in(tl.duration, fps)


def frames_to_samples(frames: int, fps: Fraction, sample_rate: int) -> int:
    return samples_in(Fraction(frames) / fps, sample_rate)
