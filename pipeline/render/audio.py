"""Audio: each clip's own sound (or silence) as exact sample counts; the mix of the
tracks is compiled by pipeline.render.tracks."""

from __future__ import annotations

from typing import Any

from pipeline.model.timeline import Clip


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
    """The clip's own sound as exactly `samples` stereo samples, moved by its audio_shift
    (delayed with silence in front, or advanced by dropping its first samples), at its
    own level (on top of the original track's)."""
    a = _normalise(stream, sample_rate)
    shift = int(round(clip.audio_shift * sample_rate))
    if shift > 0:
        a = a.filter("adelay", delays=f"{shift}S", all=1)
    elif shift < 0:
        a = a.filter("atrim", start_sample=-shift).filter("asetpts", "PTS-STARTPTS")
    if clip.audio_muted:
        a = a.filter("volume", 0)
    elif clip.audio_gain_db:
        a = a.filter("volume", f"{clip.audio_gain_db:.3f}dB")
    return a.filter("apad").filter("atrim", end_sample=samples).filter("asetpts", "PTS-STARTPTS")
