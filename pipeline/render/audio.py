"""Audio: each clip's own sound (or silence) as exact sample counts, and the final mix."""

from __future__ import annotations

from typing import Any

from ..timeline import Clip, Timeline


def _normalise(a: Any, sample_rate: int) -> Any:
    return (
        a.filter("asetpts", "PTS-STARTPTS")
        .filter("aresample", sample_rate)
        .filter("aformat", sample_fmts="fltp", channel_layouts="stereo")
    )


def silence_spec(sample_rate: int) -> str:
    """lavfi source of endless stereo silence (take it from the InputPool, then atrim)."""
    return f"anullsrc=r={sample_rate}:cl=stereo"


def clip_audio(stream: Any, clip: Clip, sample_rate: int, samples: int) -> Any:
    """The clip's own sound as exactly `samples` stereo samples."""
    a = _normalise(stream, sample_rate)
    return a.filter("apad").filter("atrim", end_sample=samples).filter("asetpts", "PTS-STARTPTS")


def mix(tl: Timeline, original: Any, sample_rate: int, total_samples: int, pool: Any) -> Any:
    """Mix the clips' own sound with the timeline's other audio tracks.

    The foundation mixes the original track only (its gain or mute); richer tracks are
    compiled by pipeline.render.tracks when present.
    """
    from . import tracks

    return tracks.mix_tracks(tl, original, sample_rate, total_samples, pool)
