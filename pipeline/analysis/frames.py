"""Low-resolution frame reading for analysis: ffmpeg decodes, scales and streams raw
frames through a pipe (pipeline.ffmpeg.frame_pipe); nothing holds a whole clip in memory."""

from __future__ import annotations

from fractions import Fraction
from typing import Iterator

import numpy as np

from pipeline.errors import RenderError
from pipeline.ffmpeg import frame_pipe, media_path
from pipeline.timebase import seconds_arg


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
    fast: bool = False,
    threads: int = 0,
    crop: tuple[int, int, int, int] | None = None,
    keyframes: bool = False,
) -> Iterator[tuple[float, np.ndarray]]:
    """Yield (source time in seconds, frame) at `fps` (None: every frame), scaled to `width`.

    Frames are uint8 arrays, HxW (gray) or HxWx3 (RGB). Times are the source's own
    (start included), taken from the frame index at the analysis rate.

    `fast` is for event detection on tiny frames: the first video stream only, decoded
    without the loop filter (it only polishes detail a 160 px image cannot show), scaled
    bilinearly, every frame passed through as decoded.

    `crop` (x, y, w, h in the source's pixels) keeps one region before scaling: a face
    decoded at low resolution costs no more than a thumbnail.

    `keyframes` decodes the key frames only (fps is then ignored and times are not
    known): a cheap look at a long stretch, for what does not move fast (is there a face).
    """
    if height is None:
        if src_size is None:
            from pipeline.model.media import probe

            src_size = probe(path).v.display_size
        width, height = analysis_size(src_size[0], src_size[1], width)
    filters = []
    if keyframes:
        fps = None
    if fps:
        filters.append(f"fps={Fraction(fps).limit_denominator(100000)}")
    if crop is not None:
        filters.append("crop={2}:{3}:{0}:{1}:exact=1".format(*(int(v) for v in crop)))
    filters.append(f"scale={width}:{height}:flags={'fast_bilinear' if fast else 'area'}")
    args: list[str] = []
    if fast:
        args += ["-threads", str(threads), "-skip_loop_filter", "all", "-flags2", "fast"]
    if keyframes:
        args += ["-skip_frame", "nokey"]
    if start:
        args += ["-ss", seconds_arg(Fraction(start))]
    if duration is not None:
        args += ["-t", seconds_arg(Fraction(duration))]
    args += ["-i", media_path(path)]
    args += ["-map", "0:v:0", "-an", "-sn"] if fast else ["-an"]
    args += ["-vf", ",".join(filters)]
    if fast or keyframes:
        args += ["-fps_mode", "passthrough"]
    if max_frames:
        args += ["-frames:v", str(max_frames)]
    shape = (height, width) if gray else (height, width, 3)
    t0 = float(start or 0)
    step = 1.0 / float(fps) if fps else 0.0
    for index, frame in enumerate(frame_pipe(args, shape, what=str(path))):
        yield t0 + index * step, frame


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
