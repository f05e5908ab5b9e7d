"""Beat tracking (librosa), cached by the audio file's content."""

from __future__ import annotations

from pipeline.analysis.audio import decode_audio
from pipeline.analysis.cache import cached_json, file_digest

BEAT_SR = 22050


def _librosa():  # noqa: ANN202 - the module
    """librosa, with numba's compiled-function cache in reelforge's cache folder (unless
    NUMBA_CACHE_DIR says otherwise): beat tracking compiles once per machine, not once per
    process, even where the installed packages are read-only."""
    import os
    import sys

    from pipeline.files import cache_dir

    folder = os.environ.setdefault("NUMBA_CACHE_DIR", str(cache_dir("numba")))
    if "numba" in sys.modules:  # imported before us: numba reads the folder when it caches
        from numba.core import config

        config.CACHE_DIR = config.CACHE_DIR or folder
    import librosa

    return librosa


def beat_times(path: str) -> dict:
    """{"tempo": bpm, "beats": [seconds...], "duration": seconds} for an audio or video file."""

    def compute() -> dict:
        import numpy as np

        librosa = _librosa()

        y = decode_audio(path, sample_rate=BEAT_SR, mono=True)
        if y.size == 0:
            return {"tempo": 0.0, "beats": [], "duration": 0.0}
        tempo, frames = librosa.beat.beat_track(y=y, sr=BEAT_SR, units="frames", trim=False)
        times = librosa.frames_to_time(frames, sr=BEAT_SR)
        return {"tempo": float(np.atleast_1d(tempo)[0]), "beats": [round(float(t), 4) for t in times],
                "duration": y.size / BEAT_SR}

    return cached_json("beats", {"file": file_digest(path), "sr": BEAT_SR, "v": 1}, compute)


def onset_envelope(path: str, sample_rate: int = BEAT_SR, hop: int = 512) -> tuple[list[float], float]:
    """Onset strength per hop (librosa) and the hop duration in seconds."""
    librosa = _librosa()

    y = decode_audio(path, sample_rate=sample_rate, mono=True)
    if y.size == 0:
        return [], hop / sample_rate
    env = librosa.onset.onset_strength(y=y, sr=sample_rate, hop_length=hop)
    return env.tolist(), hop / sample_rate
