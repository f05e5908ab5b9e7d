"""Join per-clip segments into one picture and one sound: concat for cuts."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import ffmpeg

from pipeline.model.timeline import Timeline


def join(
    tl: Timeline, segments: list[tuple[Any, Any]], fps: Fraction | None = None, sample_rate: int | None = None
) -> tuple[Any, Any]:
    """segments: (video, audio) per clip, already exact in length, made at `fps` and
    `sample_rate` (default: the canvas's). Returns (video, audio)."""
    if len(segments) == 1:
        return segments[0]
    if any(not c.transition.is_cut for c in tl.video[:-1]):
        from pipeline.render.transitions import join_with_transitions

        return join_with_transitions(tl, segments, fps, sample_rate)
    flat = [s for pair in segments for s in pair]
    joined = ffmpeg.concat(*flat, v=1, a=1).node
    return joined[0], joined[1]
