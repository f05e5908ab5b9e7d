"""Test clips for reframing: a drawn face moving over a detailed, photograph-like
background that has its own salient object (a bright sign), with the face's true box
for every frame."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Callable

import numpy as np

from pipeline.ffmpeg import ffmpeg_exe

Box = tuple[float, float, float, float]  # x, y, w, h in pixels


def background(w: int, h: int, seed: int = 0, sign_at: tuple[float, float] = (0.8, 0.35)) -> np.ndarray:
    """Sky, textured hills, trees, grain, and a bright red-and-white sign (salient)."""
    import cv2

    rng = np.random.default_rng(seed)
    img = np.zeros((h, w, 3), np.float32)
    for octave in range(1, 8):
        gw, gh = 2 ** octave + 1, max(2, int(2 ** octave * h / w) + 1)
        noise = rng.random((gh, gw, 3)).astype(np.float32)
        img += cv2.resize(noise, (w, h), interpolation=cv2.INTER_CUBIC) / (1.5 ** octave)
    img = (img - img.min()) / (img.max() - img.min())
    yy = np.linspace(0, 1, h, dtype=np.float32)[:, None]
    horizon = 0.45 + 0.08 * np.sin(np.linspace(0, 3 * np.pi, w, dtype=np.float32) + seed)[None, :]
    sky = np.stack([0.55 + 0.3 * yy, 0.65 + 0.2 * yy, 0.9 + 0 * yy], -1) * np.ones((1, w, 1), np.float32)
    ground = img * np.array([0.55, 0.6, 0.35], np.float32) + 0.1
    mask = (yy > horizon)[..., None]
    pic = np.where(mask, ground, sky * 0.85 + img * 0.15) * 255
    pic = pic.astype(np.uint8)
    for _ in range(14):  # trees
        x = int(rng.integers(0, w))
        base = int(h * (0.5 + 0.4 * rng.random()))
        th = int(h * (0.15 + 0.2 * rng.random()))
        col = tuple(int(c) for c in rng.integers(20, 80, 3))
        cv2.line(pic, (x, base), (x, base - th), (70, 50, 30), max(2, w // 200))
        cv2.ellipse(pic, (x, base - th), (int(th * 0.35), int(th * 0.5)), 0, 0, 360, col, -1, cv2.LINE_AA)
    sx, sy = int(sign_at[0] * w), int(sign_at[1] * h)
    r = int(h * 0.09)
    cv2.circle(pic, (sx, sy), r + 5, (255, 255, 255), -1, cv2.LINE_AA)
    cv2.circle(pic, (sx, sy), r, (230, 30, 20), -1, cv2.LINE_AA)
    cv2.rectangle(pic, (sx - r // 2, sy - r // 6), (sx + r // 2, sy + r // 6), (255, 255, 255), -1)
    grain = rng.normal(0, 6, pic.shape)
    return np.clip(pic + grain, 0, 255).astype(np.uint8)


def draw_face(img: np.ndarray, cx: float, cy: float, fh: int) -> Box:
    """Draw a face fh px tall centred at (cx, cy); returns the face's box (skin oval)."""
    import cv2

    cx, cy = int(round(cx)), int(round(cy))
    fw = int(fh * 0.78)
    x0, y0 = max(0, cx - fw), max(0, cy - fh)
    x1, y1 = min(img.shape[1], cx + fw), min(img.shape[0], cy + fh)
    layer = img[y0:y1, x0:x1].copy()
    ox, oy = cx - x0, cy - y0
    cv2.ellipse(layer, (ox, int(oy - fh * 0.12)), (int(fw * 0.58), int(fh * 0.52)), 0, 0, 360, (45, 30, 20), -1, cv2.LINE_AA)
    cv2.ellipse(layer, (ox, oy), (fw // 2, fh // 2), 0, 0, 360, (224, 172, 140), -1, cv2.LINE_AA)
    cv2.rectangle(layer, (ox - fw // 5, oy + int(fh * 0.4)), (ox + fw // 5, oy + int(fh * 0.75)), (200, 150, 120), -1)
    ey, ex = int(oy - fh * 0.08), int(fw * 0.2)
    for s in (-1, 1):
        x = ox + s * ex
        cv2.ellipse(layer, (x, ey - int(fh * 0.09)), (int(fw * 0.14), int(fh * 0.03)), 0, 180, 360, (60, 40, 30),
                    max(2, fh // 25), cv2.LINE_AA)
        cv2.ellipse(layer, (x, ey), (int(fw * 0.13), int(fh * 0.06)), 0, 0, 360, (150, 100, 85), -1, cv2.LINE_AA)
        cv2.ellipse(layer, (x, ey), (int(fw * 0.1), int(fh * 0.04)), 0, 0, 360, (240, 240, 235), -1, cv2.LINE_AA)
        cv2.circle(layer, (x, ey), int(fh * 0.035), (50, 35, 25), -1, cv2.LINE_AA)
    cv2.ellipse(layer, (ox, int(oy + fh * 0.12)), (int(fw * 0.08), int(fh * 0.03)), 0, 0, 360, (170, 115, 95), -1, cv2.LINE_AA)
    cv2.ellipse(layer, (ox, int(oy + fh * 0.27)), (int(fw * 0.17), int(fh * 0.045)), 0, 0, 360, (150, 60, 60), -1, cv2.LINE_AA)
    img[y0:y1, x0:x1] = cv2.GaussianBlur(layer, (0, 0), max(0.8, fh / 90))
    return (cx - fw / 2, cy - fh / 2, float(fw), float(fh))


def make_face_clip(
    path: Path,
    centre: Callable[[float], tuple[float, float]],
    size: tuple[int, int] = (640, 360),
    fps: int = 30,
    duration: float = 3.0,
    face_h: int = 96,
    cut_at: float | None = None,
    crf: int = 16,
) -> list[Box]:
    """Write a clip whose face centre at time t is centre(t) (fractions of the frame);
    after `cut_at` the background changes (a hard cut). Returns the face box per frame."""
    w, h = size
    n = int(round(duration * fps))
    bgs = [background(w, h, seed=1, sign_at=(0.82, 0.3)), background(w, h, seed=7, sign_at=(0.15, 0.3))]
    argv = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24",
            "-s", f"{w}x{h}", "-r", str(fps), "-i", "pipe:0", "-c:v", "libx264", "-preset", "ultrafast",
            "-crf", str(crf), "-pix_fmt", "yuv420p", str(path)]
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE)
    assert proc.stdin is not None
    boxes: list[Box] = []
    for i in range(n):
        t = i / fps
        frame = bgs[1 if cut_at is not None and t >= cut_at - 1e-9 else 0].copy()
        fx, fy = centre(t)
        boxes.append(draw_face(frame, fx * w, fy * h, face_h))
        proc.stdin.write(frame.tobytes())
    proc.stdin.close()
    if proc.wait() != 0:
        raise RuntimeError("ffmpeg failed writing the test clip")
    return boxes


def inside_fraction(box: Box, window: tuple[float, float, float, float]) -> float:
    """Share of the box's area inside the window (x, y, w, h)."""
    bx, by, bw, bh = box
    wx, wy, ww, wh = window
    ix = max(0.0, min(bx + bw, wx + ww) - max(bx, wx))
    iy = max(0.0, min(by + bh, wy + wh) - max(by, wy))
    return ix * iy / (bw * bh)
