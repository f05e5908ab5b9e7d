"""The tuning set for picture events: balls of any size bouncing on a floor and off the
walls over textured backgrounds, still or drifting, at 23.976-60 fps, 4-12 s, with a
knock at every impact (floor or wall); plus flash and cut clips. The evaluation set is
made by different code (tests/bench/motion_eval.py) with other seeds.

`offset` follows ITU-R BT.1359: positive = the sound is early. Each sound event sits at
(picture event time - offset), exactly, in samples.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipeline.ffmpeg import ffmpeg_exe

SR = 48000
RATES = (24000 / 1001, 24.0, 25.0, 30000 / 1001, 30.0, 50.0, 60000 / 1001, 60.0)


@dataclass
class Made:
    path: Path
    fps: float
    offset_ms: float | None  # None: the sound is unrelated
    events: int


def _encode(path: Path, frames: list[np.ndarray], fps: float, audio: np.ndarray) -> Path:
    h, w = frames[0].shape
    raw = path.with_suffix(".f32")
    audio.astype("<f4").tofile(raw)
    argv = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-v", "error", "-y",
            "-f", "rawvideo", "-pix_fmt", "gray", "-s", f"{w}x{h}", "-r", f"{fps:.6f}", "-i", "pipe:0",
            "-f", "f32le", "-ar", str(SR), "-ac", "1", "-i", str(raw),
            "-c:v", "libx264", "-preset", "ultrafast", "-crf", "20", "-pix_fmt", "yuv420p",
            "-c:a", "aac", "-b:a", "128k", "-shortest", str(path)]
    subprocess.run(argv, input=b"".join(f.tobytes() for f in frames), check=True)
    raw.unlink()
    return path


def _knock(audio: np.ndarray, t: float, rng: np.random.Generator) -> None:
    i = int(round(t * SR))
    d = int(0.06 * SR)
    s = rng.standard_normal(d) * np.exp(-np.arange(d) / (0.008 * SR))
    s += 0.6 * np.sin(2 * np.pi * rng.uniform(120, 400) * np.arange(d) / SR) * np.exp(-np.arange(d) / (0.015 * SR))
    s = 0.5 * s / np.max(np.abs(s))
    lo, hi = max(i, 0), min(i + d, audio.size)
    if hi > lo:
        audio[lo:hi] += s[lo - i: hi - i]


def _texture(rng: np.random.Generator, h: int, w: int, cell: int) -> np.ndarray:
    import cv2

    small = rng.random((h // cell + 2, w // cell + 2)).astype(np.float32)
    return cv2.resize(small, (w + 2 * cell, h + 2 * cell), interpolation=cv2.INTER_CUBIC) * 110 + 50


def _bounces(rng: np.random.Generator, duration: float, w: int, h: int, r: float) -> tuple[list, list[float]]:
    """Positions sampled every 0.1 ms and the exact impact times (floor and walls)."""
    dt = 1e-4
    floor = h * 0.92 - r
    g = rng.uniform(0.8, 2.5) * h  # px/s^2
    x, y = rng.uniform(r, w - r), rng.uniform(h * 0.1, h * 0.5)
    vx = rng.choice([-1, 1]) * rng.uniform(0.03, 0.3) * w
    vy = 0.0
    track, impacts = [], []
    t = 0.0
    while t < duration + 0.2:
        track.append((x, y))
        x, y, vy = x + vx * dt, y + vy * dt + 0.5 * g * dt * dt, vy + g * dt
        if y > floor:
            y = floor - (y - floor)
            # each bounce flies for a random time: a lively, irregular rhythm
            flight = rng.uniform(0.35, 1.1)
            vy = -0.5 * g * flight
            impacts.append(t + dt)
        if x < r or x > w - r:
            x = 2 * r - x if x < r else 2 * (w - r) - x
            vx = -vx
            impacts.append(t + dt)
        t += dt
    return track, impacts


def bounce_clip(path: Path, fps: float, offset_ms: float | None, duration: float, size: tuple[int, int],
                seed: int, moving_background: bool = False) -> Made:
    import cv2

    rng = np.random.default_rng(seed)
    w, h = size
    for _ in range(200):  # 4-10 events in the clip
        r = rng.uniform(0.03, 0.12) * min(w, h)
        track, impacts = _bounces(rng, duration, w, h, r)
        impacts = [t for t in impacts if 0.3 < t < duration - 0.3]
        if 4 <= len(impacts) <= 10 and min(np.diff(impacts), default=1) > 0.12:
            break
    cell = int(rng.integers(4, 24))
    drift = rng.uniform(-0.15, 0.15, 2) * w if moving_background else np.zeros(2)
    margin = int(np.abs(drift).max() * duration) + 2 * cell
    bg = _texture(rng, h + 2 * margin, w + 2 * margin, cell)
    shade = rng.choice([15.0, 235.0])
    n = int(duration * fps)
    frames = []
    for k in range(n):
        t = k / fps
        m = np.float32([[1, 0, -margin - drift[0] * t], [0, 1, -margin - drift[1] * t]])
        img = cv2.warpAffine(bg, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        x, y = track[min(len(track) - 1, int(round(t / 1e-4)))]
        cv2.circle(img, (int(x * 16), int(y * 16)), int(r * 16), float(shade), -1, cv2.LINE_AA, 4)
        frames.append(np.clip(img, 0, 255).astype(np.uint8))
    audio = (0.002 * rng.standard_normal(int(duration * SR))).astype(np.float32)
    times = [t - offset_ms / 1000 for t in impacts] if offset_ms is not None else \
        list(np.sort(rng.uniform(0.3, duration - 0.3, len(impacts))))
    for t in times:
        _knock(audio, t, rng)
    return Made(_encode(path, frames, fps, audio), fps, offset_ms, len(impacts))


def tuning_set(folder: Path, count: int = 16, seed: int = 1000) -> list[Made]:
    """Bouncing balls (half over drifting backgrounds), a quarter with unrelated sound."""
    rng = np.random.default_rng(seed)
    made = []
    for i in range(count):
        fps = float(rng.choice(RATES))
        dur = float(rng.uniform(4, 12))
        size = [(320, 180), (180, 320), (256, 256)][i % 3]
        off = None if i % 4 == 3 else float(rng.uniform(-250, 250))
        made.append(bounce_clip(folder / f"tune_{i:02d}.mp4", fps, off, dur, size, seed + i,
                                moving_background=bool(i % 2)))
    return made
