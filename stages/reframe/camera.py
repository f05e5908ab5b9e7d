"""The virtual camera: where the crop window sits on every source frame of a shot.

Per shot, the subject (faces, else the salient/moving region) gives for each frame the
range of window positions that keep it inside, with a comfortable margin and with a
bare minimum. The path is the L1-optimal camera path of Grundmann, Kwatra and Essa
("Auto-directed video stabilization with robust L1 optimal camera paths", CVPR 2011):
minimising |velocity|, |acceleration| and |jerk| yields exactly an operator's moves:
still holds, constant-speed pans and tracks, eased in and out. Velocity and acceleration
are hard bounds; the comfort and containment ranges are soft (weighted) so every shot has
a solution. The linear programme is solved with HiGHS (scipy.optimize.linprog).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

PLAN_RATE = 15.0  # Hz: the programme is solved at this rate, then interpolated per frame
MAX_SPEED = 0.6  # window travel, fraction of the source size per second
MAX_ACCEL = 1.2  # fraction of the source size per second squared
COMFORT = 0.15  # margin kept around the subject, fraction of the window
MIN_MARGIN = 0.02


@dataclass
class Shot:
    """Frames [start, end) of a source (indices at the source rate) and where the window's
    top-left corner sits on each (None: no window holds what matters; pad instead)."""

    start: int
    end: int
    xs: np.ndarray | None
    ys: np.ndarray | None

    @property
    def fallback(self) -> bool:
        return self.xs is None


def window_size(src_w: int, src_h: int, aspect: float) -> tuple[int, int]:
    """The largest window of `aspect` (w/h) inside src_w x src_h, even sizes."""
    if src_w / src_h > aspect:
        h = src_h // 2 * 2
        w = min(src_w, max(2, int(round(h * aspect / 2)) * 2))
    else:
        w = src_w // 2 * 2
        h = min(src_h, max(2, int(round(w / aspect / 2)) * 2))
    return w, h


def _consistent_faces(samples: Sequence[dict[str, Any]]) -> list[list[list[float]]]:
    """Faces seen in a neighbouring sample too (single-sample detections are noise),
    keeping those at least 40% the size of the largest."""
    out: list[list[list[float]]] = []
    for k, s in enumerate(samples):
        keep = []
        near = [samples[j]["faces"] for j in (k - 1, k + 1) if 0 <= j < len(samples)]
        for f in s["faces"]:
            cx, cy = f[0] + f[2] / 2, f[1] + f[3] / 2
            if any(abs(cx - (g[0] + g[2] / 2)) < f[2] and abs(cy - (g[1] + g[3] / 2)) < f[3]
                   for faces in near for g in faces) or not near:
                keep.append(f)
        if keep:
            big = max(f[2] * f[3] for f in keep)
            keep = [f for f in keep if f[2] * f[3] >= 0.4 * big]
        out.append(keep)
    return out


def subject_boxes(samples: Sequence[dict[str, Any]], start: int, end: int) -> tuple[np.ndarray, bool]:
    """Per frame of [start, end): the box (x0, y0, x1, y1, fractions) of what matters, and
    whether it comes from faces (True) or from saliency and motion (False)."""
    faces = _consistent_faces(samples)
    frames, boxes = [], []
    with_faces = sum(1 for f in faces if f)
    use_faces = bool(samples) and with_faces >= 0.3 * len(samples)
    # Where the picture moves, the salient regions of still frames are only a guess.
    any_motion = any(len(s["salient"]) > 5 and s["salient"][5] for s in samples)
    for s, fs in zip(samples, faces):
        if use_faces and not fs or not use_faces and any_motion and not s["salient"][5]:
            continue
        if use_faces:
            x0 = min(f[0] for f in fs); y0 = min(f[1] for f in fs)  # noqa: E702
            x1 = max(f[0] + f[2] for f in fs); y1 = max(f[1] + f[3] for f in fs)  # noqa: E702
        else:
            x, y, w, h = s["salient"][:4]
            cx, cy = x + w / 2, y + h / 2
            w, h = min(w, 0.25), min(h, 0.25)
            x0, y0, x1, y1 = cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2
        frames.append(s["frame"])
        boxes.append((x0, y0, x1, y1))
    idx = np.arange(start, end)
    if not frames:
        return np.tile([0.4, 0.4, 0.6, 0.6], (len(idx), 1)), False
    arr = np.asarray(boxes, dtype=np.float64)
    if not use_faces and len(arr) >= 3:  # saliency wanders: steady it with a running median
        k = min(5, len(arr) // 2 * 2 + 1)
        pad = np.pad(arr, ((k // 2, k // 2), (0, 0)), mode="edge")
        arr = np.stack([np.median(pad[i:i + k], axis=0) for i in range(len(arr))])
    out = np.stack([np.interp(idx, frames, arr[:, j]) for j in range(4)], axis=1)
    return out, use_faces


def _interval(lo_box: np.ndarray, hi_box: np.ndarray, size: int, win: int, margin: float) -> tuple[np.ndarray, np.ndarray]:
    """Window positions keeping [lo_box, hi_box] inside with `margin` (px) where possible."""
    room = np.maximum(0.0, (win - (hi_box - lo_box)) / 2)
    m = np.minimum(margin, room)
    lo = hi_box + m - win  # the window's left edge must be at least this
    hi = lo_box - m
    return np.clip(lo, 0, size - win), np.clip(hi, 0, size - win)


def plan_axis(b0: np.ndarray, b1: np.ndarray, size: int, win: int, fps: float, soft: bool = False) -> np.ndarray:
    """Window position (left or top, px) per frame keeping [b0, b1] (px) in view."""
    from scipy import sparse
    from scipy.optimize import linprog

    n_frames = len(b0)
    if win >= size or n_frames == 0:
        return np.zeros(n_frames)
    step = max(1.0, fps / PLAN_RATE)
    grid = np.arange(0, n_frames - 1 + 1e-9, step)
    if grid[-1] < n_frames - 1:
        grid = np.append(grid, n_frames - 1)
    g0 = np.interp(grid, np.arange(n_frames), b0)
    g1 = np.interp(grid, np.arange(n_frames), b1)
    n = len(grid)
    lo_c, hi_c = _interval(g0, g1, size, win, COMFORT * win)
    lo_h, hi_h = _interval(g0, g1, size, win, MIN_MARGIN * win)
    ref = np.clip((g0 + g1) / 2 - win / 2, 0, size - win)
    if n < 4:
        return np.full(n_frames, float(np.clip(np.mean(ref), 0, size - win)))
    dt = step / fps
    vmax = MAX_SPEED * size * dt
    amax = MAX_ACCEL * size * dt * dt
    eye = sparse.identity(n, format="csr")
    d1 = sparse.diags([-1, 1], [0, 1], shape=(n - 1, n), dtype=float)
    d2 = sparse.diags([1, -2, 1], [0, 1, 2], shape=(n - 2, n), dtype=float)
    d3 = sparse.diags([-1, 3, -3, 1], [0, 1, 2, 3], shape=(n - 3, n), dtype=float)
    # z = [x, u1, u2, u3, c, h, r]
    sizes = [n, n - 1, n - 2, n - 3, n, n, n]
    offs = np.cumsum([0] + sizes)

    def block(rows: int, parts: dict[int, Any]) -> Any:
        cols = []
        for i, s in enumerate(sizes):
            cols.append(parts.get(i, sparse.csr_matrix((rows, s))))
        return sparse.hstack(cols, format="csr")

    rows, rhs = [], []
    for i, (d, m) in enumerate(((d1, n - 1), (d2, n - 2), (d3, n - 3)), start=1):
        neg = -sparse.identity(m, format="csr")
        rows += [block(m, {0: d, i: neg}), block(m, {0: -d, i: neg})]
        rhs += [np.zeros(m), np.zeros(m)]
    for var, lo, hi in ((4, lo_c, hi_c), (5, lo_h, hi_h)):
        neg = -sparse.identity(n, format="csr")
        rows += [block(n, {0: -eye, var: neg}), block(n, {0: eye, var: neg})]
        rhs += [-lo, hi]
    neg = -sparse.identity(n, format="csr")
    rows += [block(n, {0: eye, 6: neg}), block(n, {0: -eye, 6: neg})]
    rhs += [ref, -ref]
    a_ub = sparse.vstack(rows, format="csr")
    b_ub = np.concatenate(rhs)
    w_contain = 6.0 if soft else 60.0
    weights = [0.0, 4.0, 10.0, 40.0, 2.0 if soft else 4.0, w_contain, 0.02]
    cost = np.concatenate([np.full(s, w) for s, w in zip(sizes, weights)])
    bounds = ([(0, size - win)] * n + [(0, vmax)] * (n - 1) + [(0, amax)] * (n - 2)
              + [(0, None)] * (n - 3 + 3 * n))
    res = linprog(cost, A_ub=a_ub, b_ub=b_ub, bounds=bounds, method="highs")
    if res.status != 0:
        x = np.full(n, float(np.median(ref)))
    else:
        x = res.x[offs[0]:offs[1]]
    return np.clip(np.interp(np.arange(n_frames), grid, x), 0, size - win)


def shot_spans(cuts: Sequence[int], start: int, end: int) -> list[tuple[int, int]]:
    """[start, end) split at the cut frames inside it."""
    inner = [c for c in cuts if start < c < end]
    edges = [start, *inner, end]
    return [(a, b) for a, b in zip(edges, edges[1:]) if b > a]


def plan_shots(analysis: dict[str, Any], start: int, end: int, src: tuple[int, int],
               win: tuple[int, int], fps: float) -> list[Shot]:
    """The camera path for frames [start, end) of an analysed source, shot by shot."""
    sw, sh = src
    ww, wh = win
    shots = []
    for a, b in shot_spans(analysis["cuts"], start, end):
        samples = [s for s in analysis["samples"] if a <= s["frame"] < b]
        boxes, faces = subject_boxes(samples, a, b)
        px = boxes * np.array([sw, sh, sw, sh])
        width_need = px[:, 2] - px[:, 0]
        height_need = px[:, 3] - px[:, 1]
        too_big = (width_need > ww * 0.98) | (height_need > wh * 0.98)
        if faces and too_big.mean() >= 0.5:
            shots.append(Shot(a, b, None, None))
            continue
        xs = plan_axis(px[:, 0], px[:, 2], sw, ww, fps, soft=not faces)
        ys = plan_axis(px[:, 1], px[:, 3], sh, wh, fps, soft=not faces)
        shots.append(Shot(a, b, xs, ys))
    return shots


def keyframe_path(keys: Sequence[dict[str, float]], times: np.ndarray, src: tuple[int, int],
                  win: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Manual override: window centre keyframes {t (source s), x, y (fractions)} eased
    between keys (smoothstep), as window top-left per time."""
    keys = sorted(keys, key=lambda k: k["t"])
    out = []
    for axis, size, w in (("x", src[0], win[0]), ("y", src[1], win[1])):
        pts = [(k["t"], k[axis]) for k in keys if k.get(axis) is not None]
        if not pts:
            pts = [(0.0, 0.5)]
        kt = np.array([p[0] for p in pts])
        kv = np.array([p[1] for p in pts])
        j = np.clip(np.searchsorted(kt, times, side="right") - 1, 0, len(kt) - 1)
        j1 = np.minimum(j + 1, len(kt) - 1)
        span = np.where(kt[j1] > kt[j], kt[j1] - kt[j], 1.0)
        u = np.clip((times - kt[j]) / span, 0, 1)
        u = u * u * (3 - 2 * u)
        centre = kv[j] + (kv[j1] - kv[j]) * u
        out.append(np.clip(centre * size - w / 2, 0, size - w))
    return out[0], out[1]
