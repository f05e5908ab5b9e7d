"""The evaluation set for picture events, written apart from the tuning set
(tests/motionclips.py) so that the detector is judged on scenes it was not tuned on:
other shapes (rectangles, ellipses, several at once), other paths (billiard-table
rebounds off the edges at any angle, back-and-forth strokes that reverse abruptly),
other backgrounds (stripes, checkers and gradients, panned or shaken by a camera),
colour frames, lamp flashes of varying strength, hard cuts between scenes, and a
different sound (a pitched click over a low hum). Seeds differ from the tuning set's.

Every case: 23.976-60 fps, 4-12 s, 4-10 sound-making events; the sound is placed at
(event time - offset), positive = sound early (ITU-R BT.1359); a third of the object
cases carry sound from another scene, and must come out null.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipeline.ffmpeg import ffmpeg_exe

RATE = 44100
FPS_CHOICES = (23.976, 24.0, 25.0, 29.97, 30.0, 48.0, 50.0, 59.94, 60.0)
SIZES = ((640, 360), (360, 640), (480, 480), (1280, 720))


@dataclass
class Case:
    path: Path
    kind: str
    fps: float
    offset_ms: float | None
    events: int


def _write(path: Path, frames: list[np.ndarray], fps: float, sound: np.ndarray) -> Path:
    h, w, _ = frames[0].shape
    wav = path.with_suffix(".s16")
    (np.clip(sound, -1, 1) * 32000).astype("<i2").tofile(wav)
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostdin", "-v", "error", "-y",
                    "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{w}x{h}", "-framerate", f"{fps}", "-i", "pipe:0",
                    "-f", "s16le", "-ar", str(RATE), "-ac", "1", "-i", str(wav),
                    "-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p",
                    "-c:a", "aac", "-b:a", "96k", "-shortest", str(path)],
                   input=b"".join(f.tobytes() for f in frames), check=True)
    wav.unlink()
    return path


def _click(track: np.ndarray, at: float, pitch: float) -> None:
    start = int(at * RATE)
    n = int(0.045 * RATE)
    t = np.arange(n) / RATE
    burst = np.sin(2 * np.pi * pitch * t * (1 - 0.3 * t / t[-1])) * np.exp(-t / 0.009)
    lo, hi = max(0, start), min(track.size, start + n)
    if hi > lo:
        track[lo:hi] += 0.6 * burst[lo - start: hi - start]


def _sound(duration: float, times: list[float], rng: np.random.Generator) -> np.ndarray:
    t = np.arange(int(duration * RATE)) / RATE
    track = 0.02 * np.sin(2 * np.pi * 60 * t) + 0.003 * rng.standard_normal(t.size)
    pitch = rng.uniform(600, 2500)
    for at in times:
        _click(track, at, pitch)
    return track


def _backdrop(kind: str, w: int, h: int, rng: np.random.Generator) -> np.ndarray:
    """A backdrop larger than the frame (the camera moves over it), float RGB."""
    big_w, big_h = w * 2, h * 2
    yy, xx = np.mgrid[0:big_h, 0:big_w].astype(np.float32)
    base = rng.uniform(40, 200, 3)
    if kind == "stripes":
        period = rng.uniform(10, 60)
        ang = rng.uniform(0, np.pi)
        wave = 0.5 + 0.5 * np.sin((xx * np.cos(ang) + yy * np.sin(ang)) * 2 * np.pi / period)
    elif kind == "checkers":
        s = int(rng.integers(8, 48))
        wave = ((xx // s + yy // s) % 2).astype(np.float32)
    else:
        wave = (xx / big_w + yy / big_h) / 2
    img = base[None, None, :] * (0.6 + 0.6 * wave[..., None])
    return np.clip(img, 0, 255)


def _camera(style: str, t: float, w: int, h: int, phase: float) -> tuple[float, float]:
    if style == "still":
        return w / 2, h / 2
    if style == "pan":
        return w / 2 + 0.08 * w * t, h / 2 + 0.03 * h * t
    return w / 2 + 6 * np.sin(2 * np.pi * 1.7 * t + phase), h / 2 + 4 * np.sin(2 * np.pi * 2.3 * t)


def _billiard(rng: np.random.Generator, w: int, h: int, half: float, duration: float) -> tuple:
    """Straight runs at constant speed that rebound off the frame's edges."""
    speed = rng.uniform(0.2, 0.9) * min(w, h)
    ang = rng.uniform(0, 2 * np.pi)
    pos = np.array([rng.uniform(half, w - half), rng.uniform(half, h - half)])
    vel = speed * np.array([np.cos(ang), np.sin(ang)])
    step = 1 / 4000
    samples, hits = [], []
    lo, hi = np.array([half, half]), np.array([w - half, h - half])
    for i in range(int(duration * 4000) + 1):
        samples.append(pos.copy())
        pos = pos + vel * step
        for d in range(2):
            if pos[d] < lo[d] or pos[d] > hi[d]:
                edge = lo[d] if pos[d] < lo[d] else hi[d]
                pos[d] = 2 * edge - pos[d]
                vel[d] = -vel[d]
                hits.append((i + 1) * step)
    return np.array(samples), hits, step


def _strokes(rng: np.random.Generator, w: int, h: int, half: float, duration: float) -> tuple:
    """Back-and-forth along one direction, reversing abruptly at irregular moments."""
    ang = rng.uniform(0, np.pi)
    axis = np.array([np.cos(ang), np.sin(ang)])
    centre = np.array([w / 2, h / 2])
    reach = 0.35 * min(w, h) - half
    step = 1 / 4000
    speed = rng.uniform(0.25, 1.0) * min(w, h)
    s, direction = 0.0, 1.0
    samples, turns = [], []
    next_turn = rng.uniform(0.4, 1.2)
    for i in range(int(duration * 4000) + 1):
        t = i * step
        samples.append(centre + axis * s)
        if t >= next_turn or abs(s + direction * speed * step) > reach:
            direction = -direction
            turns.append(t)
            next_turn = t + rng.uniform(0.35, 1.2)
        s += direction * speed * step
    return np.array(samples), turns, step


def object_case(path: Path, seed: int, unrelated: bool) -> Case:
    import cv2

    rng = np.random.default_rng(seed)
    fps = float(rng.choice(FPS_CHOICES))
    w, h = SIZES[int(rng.integers(len(SIZES)))]
    duration = float(rng.uniform(4, 12))
    for _ in range(300):
        half = float(rng.uniform(0.015, 0.12) * min(w, h))
        mover = _billiard if rng.random() < 0.5 else _strokes
        track, events, step = mover(rng, w, h, half, duration)
        events = [e for e in events if 0.3 < e < duration - 0.3]
        if 4 <= len(events) <= 10 and np.min(np.diff(events), initial=1.0) > 0.15:
            break
    back = _backdrop(str(rng.choice(["stripes", "checkers", "gradient"])), w, h, rng)
    style = str(rng.choice(["still", "pan", "shake"]))
    shape = str(rng.choice(["rect", "ellipse"]))
    colour = tuple(float(c) for c in rng.uniform(0, 255, 3))
    phase = rng.uniform(0, 6.3)
    frames = []
    for k in range(int(duration * fps)):
        t = k / fps
        cx, cy = _camera(style, t, w, h, phase)
        m = np.float32([[1, 0, w - cx], [0, 1, h - cy]])  # the frame's window onto the backdrop
        img = cv2.warpAffine(back, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        x, y = track[min(len(track) - 1, int(round(t / step)))]
        c = (int(round(x * 8)), int(round(y * 8)))
        r = int(round(half * 8))
        if shape == "rect":
            cv2.rectangle(img, (c[0] - r, c[1] - r), (c[0] + r, c[1] + r), colour, -1, cv2.LINE_AA, 3)
        else:
            cv2.ellipse(img, c, (r, int(r * 0.7)), 0, 0, 360, colour, -1, cv2.LINE_AA, 3)
        frames.append(np.clip(img, 0, 255).astype(np.uint8))
    offset = None if unrelated else float(rng.uniform(-300, 300))
    times = (list(np.sort(rng.uniform(0.3, duration - 0.3, len(events)))) if offset is None
             else [e - offset / 1000 for e in events])
    return Case(_write(path, frames, fps, _sound(duration, times, rng)), f"object {mover.__name__[1:]}",
                fps, offset, len(events))


def flash_or_cut_case(path: Path, seed: int, kind: str) -> Case:
    rng = np.random.default_rng(seed)
    fps = float(rng.choice(FPS_CHOICES))
    w, h = SIZES[int(rng.integers(len(SIZES)))][0] // 2, SIZES[int(rng.integers(len(SIZES)))][1] // 2
    w, h = w // 2 * 2, h // 2 * 2
    duration = float(rng.uniform(4, 12))
    count = int(rng.integers(4, 11))
    n = int(duration * fps)
    ks = np.sort(rng.choice(np.arange(int(0.4 * fps), n - int(0.4 * fps)), count, replace=False))
    while np.min(np.diff(ks)) < 0.25 * fps:
        ks = np.sort(rng.choice(np.arange(int(0.4 * fps), n - int(0.4 * fps)), count, replace=False))
    scenes = [_backdrop(str(rng.choice(["stripes", "checkers", "gradient"])), w, h, rng)[:h, :w]
              for _ in range(3)]
    frames = []
    scene = 0
    for k in range(n):
        if kind == "cut" and k in ks:
            scene = (scene + 1 + int(rng.integers(2))) % 3
        img = scenes[scene].copy()
        if kind == "flash" and any(0 <= k - j < 2 for j in ks):
            img = img + rng.uniform(25, 90)
        frames.append(np.clip(img, 0, 255).astype(np.uint8))
    offset = float(rng.uniform(-300, 300))
    times = [k / fps - offset / 1000 for k in ks]
    return Case(_write(path, frames, fps, _sound(duration, times, rng)), kind, fps, offset, count)


def evaluation_set(folder: Path, objects: int = 18, seed: int = 77000) -> list[Case]:
    cases = []
    for i in range(objects):
        cases.append(object_case(folder / f"eval_object_{i:02d}.mp4", seed + i, unrelated=(i % 3 == 2)))
    for i, kind in enumerate(["flash", "flash", "flash", "cut", "cut", "cut"]):
        cases.append(flash_or_cut_case(folder / f"eval_{kind}_{i}.mp4", seed + 500 + i, kind))
    return cases
