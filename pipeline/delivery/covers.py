"""Cover images: pick a sharp, representative frame (or use a given time) and write a JPEG
per output. The choice is made once, on low-resolution frames read through a pipe."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Sequence

from pipeline.errors import InputError
from pipeline.timebase import seconds_arg

ANALYSIS_FPS = 4
EDGE = 0.08  # skip the first and last 8% (fades, logos, black)


def pick_time(path: Path, duration: Fraction, avoid: Sequence[tuple[Fraction, Fraction]] = ()) -> Fraction:
    """The time of the best cover frame of `path`: sharp (variance of the Laplacian),
    close to the video's typical look (distance to the median frame), well exposed, and
    outside the `avoid` spans (e.g. while captions are on screen) when possible."""
    import cv2
    import numpy as np

    from pipeline.analysis.frames import read_frames

    times, sharp, looks, exposure = [], [], [], []
    for t, frame in read_frames(str(path), width=160, fps=ANALYSIS_FPS):
        times.append(t)
        gray = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
        sharp.append(float(cv2.Laplacian(gray, cv2.CV_64F).var()))
        looks.append(cv2.resize(frame, (16, 9), interpolation=cv2.INTER_AREA).astype(np.float32).ravel())
        mean = float(gray.mean())
        exposure.append(abs(mean - 118) / 118)
    if not times:
        return Fraction(0)
    t_arr = np.array(times)
    sharp_arr = np.log1p(np.array(sharp))
    median = np.median(np.stack(looks), axis=0)
    dist = np.array([float(np.abs(x - median).mean()) for x in looks]) / 255.0
    score = (sharp_arr - sharp_arr.mean()) / (sharp_arr.std() + 1e-6) - 4.0 * dist - 1.5 * np.array(exposure)
    total = float(duration)
    inside = (t_arr >= total * EDGE) & (t_arr <= total * (1 - EDGE))
    clear = np.array([not any(float(a) <= t <= float(b) for a, b in avoid) for t in times])
    for mask in (inside & clear, inside, np.ones_like(inside)):
        if mask.any():
            best = int(np.argmax(np.where(mask, score, -np.inf)))
            return Fraction(times[best]).limit_denominator(1000)
    return Fraction(0)


def write_thumbnail(video: Path, t: Fraction, target: Path) -> Path:
    """A full-size JPEG of `video` at time t, written atomically."""
    from pipeline.files import atomic_output
    from pipeline.ffmpeg import media_path, preamble, run_ffmpeg_quiet

    with atomic_output(target) as tmp:
        run_ffmpeg_quiet([*preamble(), "-ss", seconds_arg(t), "-i", media_path(video), "-frames:v", "1",
                          "-q:v", "2", "-update", "1", "-f", "image2", media_path(tmp)],
                         what=f"thumbnail {target.name}")
        if not tmp.exists() or tmp.stat().st_size == 0:
            raise InputError(f"--thumbnail {float(t):.3f}: no frame at that time in {video.name}")
    return target
