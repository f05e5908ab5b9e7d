"""Join per-clip segments into one picture and one sound: concat for cuts."""

from __future__ import annotations

from typing import Any

import ffmpeg

from ..timeline import Timeline


def join(tl: Timeline, segments: list[tuple[Any, Any]]) -> tuple[Any, Any]:
    """segments: (video, audio) per clip, already exact in length. Returns (video, audio)."""
    if len(segments) == 1:
        return segments[0]
    if any(not c.transition.is_cut for c in tl.video[:-1]):
        from .transitions import join_with_transitions

        return join_with_transitions(tl, segments)
    flat = [s for pair in segments for s in pair]
    joined = ffmpeg.concat(*flat, v=1, a=1).node
    return joined[0], joined[1]
