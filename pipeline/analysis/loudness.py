"""Loudness measurement (ITU-R BS.1770 / EBU R128) with ffmpeg's ebur128 filter:
integrated loudness, loudness range and true peak (4x oversampled)."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass

from pipeline.errors import RenderError
from pipeline.ffmpeg import ffmpeg_exe


@dataclass(frozen=True)
class Loudness:
    integrated_lufs: float | None  # None for silence
    lra_lu: float
    true_peak_dbtp: float | None


def _parse_summary(text: str) -> Loudness:
    tail = text[text.rfind("Summary:"):] if "Summary:" in text else text

    def grab(label: str) -> float | None:
        m = re.search(label + r":\s*(-?[\d.]+|-inf)", tail)
        if not m or m.group(1) == "-inf":
            return None
        return float(m.group(1))

    integrated = grab(r"I")
    if integrated is not None and integrated <= -70:
        integrated = None
    return Loudness(integrated, grab(r"LRA") or 0.0, grab(r"Peak"))


def measure_args(input_args: list[str]) -> Loudness:
    """Measure the audio of an ffmpeg input given as argv (e.g. ["-i", path])."""
    argv = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-nostats", *input_args, "-vn",
            "-af", "ebur128=peak=true:framelog=quiet", "-f", "null", "-"]
    proc = subprocess.run(argv, capture_output=True, text=True, errors="replace", stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        raise RenderError("loudness measurement failed", proc.stderr.strip()[-800:])
    return _parse_summary(proc.stderr)


def measure_file(path: str) -> Loudness:
    return measure_args(["-i", str(path)])
