"""Audio decode for analysis: ffmpeg streams float samples through a pipe."""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from pipeline.ffmpeg import media_path, sample_pipe
from pipeline.timebase import seconds_arg


def decode_audio(
    path: str,
    sample_rate: int = 22050,
    mono: bool = True,
    start: Fraction | float | None = None,
    duration: Fraction | float | None = None,
) -> np.ndarray:
    """Samples as float32: shape (n,) when mono, (n, 2) otherwise. Empty when no audio."""
    args: list[str] = []
    if start:
        args += ["-ss", seconds_arg(Fraction(start))]
    if duration is not None:
        args += ["-t", seconds_arg(Fraction(duration))]
    args += ["-i", media_path(path)]
    return sample_pipe(args, sample_rate, 1 if mono else 2, what=str(path))
