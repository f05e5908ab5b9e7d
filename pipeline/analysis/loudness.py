"""Loudness measurement (ITU-R BS.1770 / EBU R128) with ffmpeg's ebur128 filter:
integrated loudness, loudness range and true peak (4x oversampled)."""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.ffmpeg import ebur128, media_path


@dataclass(frozen=True)
class Loudness:
    integrated_lufs: float | None  # None for silence
    lra_lu: float
    true_peak_dbtp: float | None


def measure_args(input_args: list[str]) -> Loudness:
    """Measure the audio of an ffmpeg input given as argv (e.g. ["-i", media_path(path)])."""
    m = ebur128(input_args, true_peak=True)
    return Loudness(m.integrated_lufs, m.lra_lu or 0.0, m.true_peak_dbtp)


def measure_file(path: str) -> Loudness:
    return measure_args(["-i", media_path(path)])
