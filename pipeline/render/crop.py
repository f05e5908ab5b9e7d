"""Crop windows over the source (fixed or time-varying) as ffmpeg crop expressions."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from ..timeline import Clip


def _piecewise(points: list[tuple[float, float]], var: str = "t") -> str:
    """A piecewise-constant expression: value of the last point whose time <= t."""
    if not points:
        return "0"
    expr = f"{points[0][1]:.2f}"
    for t, value in points[1:]:
        expr = f"if(gte({var},{t:.6f}),{value:.2f},{expr})"
    return expr


def apply_crop(v: Any, clip: Clip, fps: Fraction) -> tuple[Any, int, int]:
    """Crop the picture to clip.crop's window; returns the stream and the window size.

    Times in the path are source seconds; the stream here starts at the clip's in point.
    """
    path = clip.crop
    assert path is not None
    w, h = int(path.window_size[0]), int(path.window_size[1])
    frames = [(float(t) - float(clip.in_point), float(x), float(y)) for t, x, y in path.frames]
    frames = [f for f in frames if f[0] >= -1e-6] or frames[-1:]
    xs = {round(f[1], 2) for f in frames}
    ys = {round(f[2], 2) for f in frames}
    if len(xs) <= 1 and len(ys) <= 1:
        x = frames[0][1] if frames else 0
        y = frames[0][2] if frames else 0
        return v.filter("crop", w, h, int(round(x)), int(round(y)), exact=1), w, h
    # Merge runs of equal values so the expression stays small.
    def runs(idx: int) -> list[tuple[float, float]]:
        out: list[tuple[float, float]] = []
        for f in frames:
            if not out or abs(out[-1][1] - f[idx]) >= 0.5:
                out.append((max(f[0], 0.0), round(f[idx])))
        return out

    return (
        v.filter("crop", w, h, _piecewise(runs(1)), _piecewise(runs(2)), exact=1),
        w,
        h,
    )
