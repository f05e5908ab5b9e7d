"""Exact time. Seconds and rates are fractions.Fraction; floats appear only in ffmpeg argv."""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Union

TimeLike = Union[Fraction, int, float, str]

# Common NTSC rates are kept exact when a float is given.
_KNOWN_RATES = {
    23.976: Fraction(24000, 1001),
    29.97: Fraction(30000, 1001),
    59.94: Fraction(60000, 1001),
    47.952: Fraction(48000, 1001),
    119.88: Fraction(120000, 1001),
}


def to_fraction(value: TimeLike) -> Fraction:
    """Parse seconds or a rate: Fraction, int, float, "1.5", "30000/1001", "00:01:02.5"."""
    if isinstance(value, Fraction):
        return value
    if isinstance(value, bool):
        raise ValueError(f"not a time: {value!r}")
    if isinstance(value, int):
        return Fraction(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"not a finite time: {value!r}")
        return Fraction(value).limit_denominator(1_000_000)
    text = str(value).strip()
    if not text:
        raise ValueError("empty time")
    if ":" in text:
        parts = text.split(":")
        total = Fraction(0)
        for part in parts:
            total = total * 60 + Fraction(part)
        return total
    try:
        return Fraction(text)
    except (ValueError, ZeroDivisionError) as exc:
        raise ValueError(f"not a time or rate: {value!r}") from exc


def to_rate(value: TimeLike) -> Fraction:
    """Parse a frame rate; 29.97 and friends become their exact NTSC fractions."""
    if isinstance(value, float):
        for approx, exact in _KNOWN_RATES.items():
            if abs(value - approx) < 0.0005:
                return exact
    rate = to_fraction(value)
    if rate <= 0:
        raise ValueError(f"frame rate must be positive: {value!r}")
    return rate


def fmt_fraction(value: Fraction) -> str:
    """Serialise exactly: "3", "1001/30000"."""
    return str(value.numerator) if value.denominator == 1 else f"{value.numerator}/{value.denominator}"


def seconds_arg(value: Fraction) -> str:
    """A seconds value for an ffmpeg argument (microsecond precision, no exponent)."""
    return f"{float(value):.6f}".rstrip("0").rstrip(".") or "0"


def frames_in(duration: Fraction, fps: Fraction) -> int:
    """Whole frames that fit a duration at a rate, rounded to nearest (half up)."""
    return int(math.floor(duration * fps + Fraction(1, 2)))


def frame_time(frame: int, fps: Fraction) -> Fraction:
    return Fraction(frame) / fps


def snap_to_frame(t: Fraction, fps: Fraction) -> Fraction:
    """Round a time to the nearest frame boundary."""
    return frame_time(frames_in(t, fps), fps)


def samples_in(duration: Fraction, sample_rate: int) -> int:
    return int(math.floor(duration * sample_rate + Fraction(1, 2)))


def fmt_timecode(seconds: Fraction | float) -> str:
    s = float(seconds)
    m, sec = divmod(s, 60)
    h, m = divmod(int(m), 60)
    return f"{h:02d}:{m:02d}:{sec:06.3f}" if h else f"{m:02d}:{sec:06.3f}"
