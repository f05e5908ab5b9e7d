"""Crop windows over the source (fixed or time-varying) as ffmpeg crop expressions.

A path stores one integer window position per source frame. ffmpeg gets it as one
compact piecewise-linear expression of t, v0 + s0*t + sum(ds_k * max(t - t_k, 0)),
fitted so that it lies within 0.49 px of every stored position at every frame time: the
crop filter rounds to the nearest pixel (lrint), so the rendered windows are exactly the
stored ones, and a smooth pan of hundreds of frames needs only a few dozen knots.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any, Sequence

from pipeline.model.timeline import Clip

TOLERANCE = 0.49  # px: any closer to 0.5 and rounding in ffmpeg might differ


def fit_linear_pieces(ts: Sequence[float], values: Sequence[float], tol: float = TOLERANCE) -> list[tuple[float, float]]:
    """Knots (t, v) of a continuous piecewise-linear function within `tol` of every
    (ts[i], values[i]); ts strictly increasing. Greedy: each piece grows while some slope
    from its start keeps every point inside the band (the feasible-slope cone)."""
    n = len(ts)
    if n == 0:
        return [(0.0, 0.0)]
    knots = [(float(ts[0]), float(values[0]))]
    i = 0
    while i < n - 1:
        t0, v0 = knots[-1]
        lo, hi = -float("inf"), float("inf")
        j = i + 1
        best = None
        while j < n:
            dt = ts[j] - t0
            a, b = (values[j] - tol - v0) / dt, (values[j] + tol - v0) / dt
            nlo, nhi = max(lo, a), min(hi, b)
            if nlo > nhi:
                break
            lo, hi = nlo, nhi
            best = j
            j += 1
        assert best is not None  # one more point always fits: v0 is within tol of values[i]
        slope = (lo + hi) / 2
        if lo <= 0 <= hi:
            slope = 0.0  # holds stay exactly still
        knots.append((float(ts[best]), v0 + slope * (ts[best] - t0)))
        i = best
    return knots


def _num(v: float) -> str:
    return f"{v:.12g}"


def linear_expression(knots: Sequence[tuple[float, float]], var: str = "t") -> str:
    """The knots as one flat ffmpeg expression (constant before the first knot and after
    the last)."""
    if len(knots) == 1 or all(abs(v - knots[0][1]) < 1e-9 for _, v in knots):
        return _num(knots[0][1])
    slopes = [(v1 - v0) / (t1 - t0) for (t0, v0), (t1, v1) in zip(knots, knots[1:])]
    terms = [_num(knots[0][1])]
    prev = 0.0
    for (t, _), s in zip(knots, slopes + [0.0]):
        ds = s - prev
        if abs(ds) > 1e-12:
            terms.append(f"{'+' if ds >= 0 else '-'}{_num(abs(ds))}*max({var}-{_num(t)},0)")
        prev = s
    return _balanced_sum(terms)


def _balanced_sum(terms: Sequence[str]) -> str:
    """Signed terms ('+a*...', '-b*...'; the first unsigned) as one sum nested in halves.
    ffmpeg's expression parser silently rejects a flat sum of more than about 90 terms
    (its tree is as deep as the sum is long), which a long smart-reframe path exceeds;
    halves keep the depth logarithmic."""
    if len(terms) <= 32:
        return "".join(terms)
    mid = len(terms) // 2
    # A group may open with its first term's sign: ffmpeg reads "(-a*...)" and "(+a*...)".
    return f"({_balanced_sum(terms[:mid])})+({_balanced_sum(terms[mid:])})"


def evaluate(knots: Sequence[tuple[float, float]], t: float) -> float:
    """The piecewise-linear function at t, as the expression computes it."""
    ts = [k[0] for k in knots]
    vs = [k[1] for k in knots]
    import numpy as np

    return float(np.interp(t, ts, vs))


def apply_crop(v: Any, clip: Clip, fps: Fraction) -> tuple[Any, int, int]:
    """Crop the picture to clip.crop's window; returns the stream and the window size.

    Times in the path are source seconds; the stream here starts at the clip's in point.
    """
    path = clip.crop
    assert path is not None
    w, h = int(path.window_size[0]), int(path.window_size[1])
    start = float(clip.in_point)
    frames = [(float(t) - start, float(x), float(y)) for t, x, y in path.frames]
    inside = [f for f in frames if f[0] >= -1e-6]
    frames = inside or frames[-1:] or [(0.0, 0.0, 0.0)]
    ts, xs, ys = [], [], []
    for t, x, y in frames:  # strictly increasing times (a hand-edited path may repeat one)
        if not ts or max(0.0, t) > ts[-1] + 1e-9:
            ts.append(max(0.0, t))
            xs.append(round(x))
            ys.append(round(y))
    x_expr = linear_expression(fit_linear_pieces(ts, xs))
    y_expr = linear_expression(fit_linear_pieces(ts, ys))
    return v.filter("crop", w, h, x_expr, y_expr, exact=1), w, h
