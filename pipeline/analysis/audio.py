"""Audio decode for analysis: ffmpeg streams float samples through a pipe."""

from __future__ import annotations

import subprocess
from fractions import Fraction

import numpy as np

from pipeline.errors import InputError, RenderError
from pipeline.timebase import seconds_arg
from pipeline.ffmpeg import ffmpeg_exe


def decode_audio(
    path: str,
    sample_rate: int = 22050,
    mono: bool = True,
    start: Fraction | float | None = None,
    duration: Fraction | float | None = None,
) -> np.ndarray:
    """Samples as float32: shape (n,) when mono, (n, 2) otherwise. Empty when no audio."""
    channels = 1 if mono else 2
    argv = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-v", "error"]
    if start:
        argv += ["-ss", seconds_arg(Fraction(start))]
    if duration is not None:
        argv += ["-t", seconds_arg(Fraction(duration))]
    argv += ["-i", str(path), "-vn", "-ac", str(channels), "-ar", str(sample_rate), "-f", "f32le", "pipe:1"]
    proc = subprocess.run(argv, capture_output=True, stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        err = proc.stderr.decode("utf-8", "replace")
        if "does not contain any stream" in err or "matches no streams" in err:
            return np.zeros((0,) if mono else (0, 2), dtype=np.float32)
        raise InputError(f"{path}: cannot decode audio") if "Invalid data" in err else RenderError(
            f"{path}: audio decode failed", err.strip()[-800:])
    data = np.frombuffer(proc.stdout, dtype=np.float32)
    return data if mono else data.reshape(-1, 2)
