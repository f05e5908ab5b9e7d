"""Test clips with a known offset between sound and picture, drawn with numpy and
encoded by ffmpeg: flashes with beeps, and a bouncing ball that knocks at each impact.

`offset` follows ITU-R BT.1359: positive = the sound is early (leads the picture). Every
sound event is placed at (picture event time - offset), exactly, in samples.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np

from pipeline.ffmpeg import ffmpeg_exe

SR = 48000


def _encode(path: Path, frames: np.ndarray, fps: float, audio: np.ndarray) -> Path:
    """frames: (n, h, w) uint8 gray; audio: float32 mono at SR."""
    n, h, w = frames.shape
    raw = path.with_suffix(".f32")
    audio.astype("<f4").tofile(raw)
    argv = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-v", "error", "-y",
            "-f", "rawvideo", "-pix_fmt", "gray", "-s", f"{w}x{h}", "-r", str(fps), "-i", "pipe:0",
            "-f", "f32le", "-ar", str(SR), "-ac", "1", "-i", str(raw),
            "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
            "-c:a", "aac", "-b:a", "128k", "-shortest", str(path)]
    subprocess.run(argv, input=frames.tobytes(), check=True)
    raw.unlink()
    return path


def _beep(audio: np.ndarray, t: float, kind: str, rng: np.random.Generator) -> None:
    i = int(round(t * SR))
    if kind == "beep":
        d = int(0.08 * SR)
        s = np.sin(2 * np.pi * 1000 * np.arange(d) / SR) * np.exp(-np.arange(d) / (0.03 * SR))
    else:  # knock: a short decaying noise burst through a resonance
        d = int(0.06 * SR)
        s = rng.standard_normal(d) * np.exp(-np.arange(d) / (0.008 * SR))
        s += 0.6 * np.sin(2 * np.pi * 180 * np.arange(d) / SR) * np.exp(-np.arange(d) / (0.015 * SR))
    s = 0.5 * s / np.max(np.abs(s))
    lo, hi = max(i, 0), min(i + d, audio.size)
    if hi > lo:
        audio[lo:hi] += s[lo - i: hi - i]


def _event_times(rng: np.random.Generator, duration: float, gap: tuple[float, float]) -> list[float]:
    times, t = [], 0.4 + rng.uniform(0, 0.3)
    while t < duration - 0.4:
        times.append(t)
        t += rng.uniform(*gap)
    return times


def flash_clip(path: Path, fps: float, offset: float, duration: float = 4.0, size: tuple[int, int] = (160, 90),
               seed: int = 1, unrelated: bool = False) -> Path:
    """Dark frames with a white flash (2 frames) at irregular frames; a beep for each."""
    rng = np.random.default_rng(seed)
    w, h = size
    n = int(round(duration * fps))
    frames = np.full((n, h, w), 24, np.uint8)
    frames += rng.integers(0, 6, frames.shape, dtype=np.uint8)
    times = _event_times(rng, duration, (0.35, 0.9))
    audio = np.zeros(int(duration * SR), np.float32)
    audio += 0.002 * rng.standard_normal(audio.size).astype(np.float32)
    ks = [int(round(t * fps)) for t in times]
    for k in ks:
        frames[k: k + 2] = 235
    sound_times = [k / fps - offset for k in ks]
    if unrelated:
        sound_times = _event_times(np.random.default_rng(seed + 1000), duration, (0.3, 0.8))
    for t in sound_times:
        _beep(audio, t, "beep", rng)
    return _encode(path, frames, fps, audio)


def ball_clip(path: Path, fps: float, offset: float, duration: float = 4.0, size: tuple[int, int] = (160, 90),
              seed: int = 2, unrelated: bool = False) -> Path:
    """A ball bouncing on a floor (flights of random length, drawn anti-aliased at its
    exact position for each frame's instant); a knock at each impact."""
    rng = np.random.default_rng(seed)
    w, h = size
    g = 2 * 9.81 * h / 1.6  # pixels / s^2, a lively bounce for a small frame
    r = h * 0.08
    floor = h * 0.9 - r
    impacts, t = [], 0.3 + rng.uniform(0, 0.2)
    while t < duration + 1:
        impacts.append(t)
        t += rng.uniform(0.35, 0.75)
    n = int(round(duration * fps))
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    frames = np.empty((n, h, w), np.uint8)
    x0 = w * 0.2
    for k in range(n):
        tk = k / fps
        # the flight containing tk: between impacts[j-1] and impacts[j] (first: a drop)
        j = int(np.searchsorted(impacts, tk, side="right"))
        if j == 0:
            tf = impacts[0]
            y = floor - 0.5 * g * (tf - tk) ** 2
        else:
            a, b = impacts[j - 1], impacts[j] if j < len(impacts) else impacts[-1] + 0.6
            v0 = 0.5 * g * (b - a)
            s = tk - a
            y = floor - (v0 * s - 0.5 * g * s * s)
        x = x0 + (w * 0.6) * (tk / duration)
        d = np.sqrt((xx - x) ** 2 + (yy - y) ** 2)
        ball = np.clip(r - d + 0.5, 0, 1)
        img = 40 + 180 * ball
        img[int(floor + r) + 1:] = 90
        frames[k] = img.astype(np.uint8)
    audio = np.zeros(int(duration * SR), np.float32)
    audio += 0.002 * rng.standard_normal(audio.size).astype(np.float32)
    sound_times = [t - offset for t in impacts]
    if unrelated:
        sound_times = _event_times(np.random.default_rng(seed + 1000), duration, (0.3, 0.8))
    for t in sound_times:
        _beep(audio, t, "knock", rng)
    return _encode(path, frames, fps, audio)
