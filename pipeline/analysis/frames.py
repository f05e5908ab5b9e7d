"""Low-resolution frame reading for analysis: ffmpeg decodes, scales and streams raw
frames through a pipe; nothing holds a whole clip in memory."""

from __future__ import annotations

import subprocess
from fractions import Fraction
from typing import Iterator

import numpy as np

from pipeline.errors import RenderError
from pipeline.timebase import seconds_arg
from pipeline.ffmpeg import ffmpeg_exe


def analysis_size(src_w: int, src_h: int, width: int) -> tuple[int, int]:
    """(w, h) with the given width, the source's display aspect, both even."""
    h = max(2, int(round(src_h * width / src_w / 2)) * 2)
    return width, h


def read_frames(
    path: str,
    width: int = 160,
    height: int | None = None,
    fps: float | Fraction | None = 4,
    start: Fraction | float | None = None,
    duration: Fraction | float | None = None,
    gray: bool = False,
    src_size: tuple[int, int] | None = None,
    max_frames: int | None = None,
    crop: tuple[int, int, int, int] | None = None,
) -> Iterator[tuple[float, np.ndarray]]:
    """Yield (source time in seconds, frame) at `fps` (None: every frame), scaled to `width`.

    Frames are uint8 arrays, HxW (gray) or HxWx3 (RGB). Times are the source's own
    (start included), taken from the frame index at the analysis rate. `crop` (x, y, w, h
    in the source's display pixels) keeps one region before scaling: a face decoded at
    low resolution costs no more than a thumbnail.
    """
    if height is None:
        if src_size is None:
            from pipeline.model.media import probe

            src_size = probe(path).v.display_size
        width, height = analysis_size(src_size[0], src_size[1], width)
    pix = "gray" if gray else "rgb24"
    channels = 1 if gray else 3
    filters = []
    if fps:
        filters.append(f"fps={Fraction(fps).limit_denominator(100000)}")
    if crop is not None:
        filters.append("crop={2}:{3}:{0}:{1}:exact=1".format(*(int(v) for v in crop)))
    filters.append(f"scale={width}:{height}:flags=area")
    argv = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-v", "error"]
    if start:
        argv += ["-ss", seconds_arg(Fraction(start))]
    if duration is not None:
        argv += ["-t", seconds_arg(Fraction(duration))]
    argv += ["-i", path, "-an", "-vf", ",".join(filters)]
    if max_frames:
        argv += ["-frames:v", str(max_frames)]
    argv += ["-f", "rawvideo", "-pix_fmt", pix, "pipe:1"]
    frame_bytes = width * height * channels
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    assert proc.stdout is not None
    t0 = float(start or 0)
    step = 1.0 / float(fps) if fps else None
    index = 0
    finished = False
    try:
        while True:
            buf = proc.stdout.read(frame_bytes)
            if len(buf) < frame_bytes:
                break
            arr = np.frombuffer(buf, dtype=np.uint8)
            arr = arr.reshape((height, width)) if gray else arr.reshape((height, width, 3))
            t = t0 + (index * step if step else 0.0)
            index += 1
            yield t, arr
        finished = True
    finally:
        if not finished and proc.poll() is None:
            proc.kill()  # the caller stopped early
        proc.stdout.close()
        err = proc.stderr.read().decode("utf-8", "replace") if proc.stderr else ""
        code = proc.wait()
        if finished and code != 0 and index == 0:
            raise RenderError(f"{path}: could not decode frames for analysis", err.strip()[-800:])


def frame_at(path: str, t: float | Fraction, width: int | None = None) -> np.ndarray:
    """One RGB frame at time t (full size unless width is given)."""
    from pipeline.model.media import probe

    src = probe(path).v.display_size
    w, h = (src if width is None else analysis_size(src[0], src[1], width))
    w, h = w // 2 * 2, h // 2 * 2
    frames = list(read_frames(path, width=w, height=h, fps=None, start=t, src_size=src, max_frames=1))
    if not frames:
        raise RenderError(f"{path}: no frame at {float(t):.3f}s")
    return frames[0][1]
