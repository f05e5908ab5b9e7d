"""Colour continuity across cuts: measure each clip's colour near its seams at low
resolution (through frames.read_frames, cached by content hash) and fit Clip.color fixes
(eq contrast/brightness/saturation, then channel gains; see render/color.py) that make a
clip's first second look like its predecessor's last second, as corrected.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from pipeline.analysis.cache import cached_json, file_digest

ANALYSIS_WIDTH = 48
ANALYSIS_FPS = 4
WINDOW = Fraction(1)  # seconds measured at each end of a clip
# BT.601 luma weights: what ffmpeg's eq filter sees as Y when it converts from RGB.
_KR, _KG, _KB = 0.299, 0.587, 0.114

# Limits keep a bad measurement (a black frame, a flash) from wrecking a clip.
_LIMITS = {"contrast": (0.6, 1.6), "brightness": (-0.25, 0.25), "saturation": (0.4, 2.5),
           "r_gain": (0.75, 1.33), "g_gain": (0.75, 1.33), "b_gain": (0.75, 1.33)}


def window_pixels(path: str, start: Fraction, duration: Fraction, src_size: tuple[int, int]) -> Any:
    """RGB pixels (N x 3 uint8) of the frames in [start, start + duration), low-res, cached."""
    import numpy as np

    from pipeline.analysis.frames import read_frames

    def compute() -> list:
        frames = [f for _, f in read_frames(path, width=ANALYSIS_WIDTH, fps=ANALYSIS_FPS, start=start,
                                            duration=duration, src_size=src_size)]
        if not frames:
            return []
        return np.concatenate([f.reshape(-1, 3) for f in frames]).tolist()

    parts = {"file": file_digest(path), "start": str(start), "dur": str(duration),
             "w": ANALYSIS_WIDTH, "fps": ANALYSIS_FPS, "v": 1}
    data = cached_json("colorwin", parts, compute)
    return np.asarray(data, dtype=np.uint8).reshape(-1, 3)


def _to_yuv(rgb: Any) -> tuple[Any, Any, Any]:
    r, g, b = rgb[:, 0], rgb[:, 1], rgb[:, 2]
    y = _KR * r + _KG * g + _KB * b
    return y, (b - y) * 0.564, (r - y) * 0.713


def _to_rgb(y: Any, u: Any, v: Any) -> Any:
    import numpy as np

    r = y + v / 0.713
    b = y + u / 0.564
    g = (y - _KR * r - _KB * b) / _KG
    return np.stack([r, g, b], axis=1)


def _unit(pixels: Any) -> Any:
    """uint8 pixels -> floats 0..1 (float input is taken as already 0..1)."""
    import numpy as np

    arr = np.asarray(pixels)
    return arr.astype(np.float64) / 255.0 if arr.dtype == np.uint8 else arr.astype(np.float64)


def simulate(pixels: Any, color: dict[str, float]) -> Any:
    """What render/color.apply_color does to these pixels (floats 0..1 in and out)."""
    import numpy as np

    rgb = _unit(pixels)
    if not color:
        return rgb
    y, u, v = _to_yuv(rgb)
    c = color.get("contrast", 1.0)
    y = (y - 0.5) * c + 0.5 + color.get("brightness", 0.0)
    s = color.get("saturation", 1.0)
    rgb = _to_rgb(np.clip(y, 0, 1), u * s, v * s)
    rgb = rgb * np.array([color.get("r_gain", 1.0), color.get("g_gain", 1.0), color.get("b_gain", 1.0)])
    return np.clip(rgb, 0.0, 1.0)


def stats(rgb: Any) -> dict[str, float]:
    """Mean and spread of luma, mean chroma (saturation) and mean of each channel."""
    import numpy as np

    y, u, v = _to_yuv(rgb)
    return {"y_mean": float(y.mean()), "y_std": float(y.std()), "chroma": float(np.hypot(u, v).mean()),
            "r": float(rgb[:, 0].mean()), "g": float(rgb[:, 1].mean()), "b": float(rgb[:, 2].mean())}


def _clamp(key: str, value: float) -> float:
    lo, hi = _LIMITS[key]
    return min(hi, max(lo, value))


def fit_fix(source: Any, target: dict[str, float]) -> dict[str, float]:
    """Colour fix that maps the source pixels' statistics onto `target`'s."""
    source = _unit(source)
    s = stats(source)
    fix: dict[str, float] = {}
    contrast = _clamp("contrast", target["y_std"] / s["y_std"]) if s["y_std"] > 0.01 else 1.0
    brightness = _clamp("brightness", target["y_mean"] - ((s["y_mean"] - 0.5) * contrast + 0.5))
    saturation = _clamp("saturation", target["chroma"] / s["chroma"]) if s["chroma"] > 0.01 else 1.0
    for key, value, eps in (("contrast", contrast, 0.02), ("brightness", brightness, 0.005),
                            ("saturation", saturation, 0.02)):
        if abs(value - (0.0 if key == "brightness" else 1.0)) > eps:
            fix[key] = round(value, 4)
    after = stats(simulate(source, fix))
    gains = [target[ch] / after[ch] if after[ch] > 0.02 else 1.0 for ch in ("r", "g", "b")]
    # Keep the luma where eq put it: normalise the gains' luma-weighted mean to 1.
    norm = _KR * gains[0] + _KG * gains[1] + _KB * gains[2]
    gains = [g / norm for g in gains]
    if any(abs(g - 1.0) > 0.02 for g in gains):
        for key, g in zip(("r_gain", "g_gain", "b_gain"), gains):
            fix[key] = round(_clamp(key, g), 4)
    return fix


def match_colors(clips: list[Any]) -> list[dict[str, float]]:
    """One colour fix per clip: the first is left alone; each next clip's first second is
    matched to its predecessor's last second as that predecessor will be rendered."""
    fixes: list[dict[str, float]] = [dict(clips[0].color)] if clips else []
    for prev, clip in zip(clips, clips[1:]):
        tail_len = min(WINDOW, prev.source_duration)
        tail = window_pixels(prev.source, prev.out_point - tail_len, tail_len, (prev.src_width, prev.src_height))
        head = window_pixels(clip.source, clip.in_point, min(WINDOW, clip.source_duration),
                             (clip.src_width, clip.src_height))
        if tail.size == 0 or head.size == 0:
            fixes.append(dict(clip.color))
            continue
        target = stats(simulate(tail, fixes[-1]))
        fixes.append(fit_fix(head, target))
    return fixes
