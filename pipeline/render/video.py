"""Per-clip picture chain: exact frames at the canvas rate, fitted onto the canvas."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from pipeline.model.timeline import Clip
from pipeline.timebase import fmt_fraction

# Backgrounds for contain-blur are blurred at this fraction of the canvas size: a small
# blur is as soft as a large one and costs a fraction of the time.
_BLUR_DOWNSCALE = 8


def _even(n: float) -> int:
    return max(2, int(round(n / 2)) * 2)


def fit_picture(v: Any, src_w: int, src_h: int, width: int, height: int, fit: str) -> Any:
    """Scale and place a picture of src_w x src_h onto width x height with a fit policy."""
    same_aspect = abs(src_w * height - src_h * width) <= max(src_w, width) * 0.01 * height
    if same_aspect or fit == "stretch":
        return v.filter("scale", width, height).filter("setsar", "1")
    if fit == "cover":
        return (
            v.filter("scale", width, height, force_original_aspect_ratio="increase")
            .filter("crop", width, height)
            .filter("setsar", "1")
        )
    fg_scale = min(width / src_w, height / src_h)
    fg_w, fg_h = _even(src_w * fg_scale), _even(src_h * fg_scale)
    fg_w, fg_h = min(fg_w, width), min(fg_h, height)
    if fit == "contain":
        return (
            v.filter("scale", fg_w, fg_h)
            .filter("pad", width, height, (width - fg_w) // 2, (height - fg_h) // 2, color="black")
            .filter("setsar", "1")
        )
    # contain-blur: the picture, fitted, over a blurred and zoomed copy of itself
    split = v.filter_multi_output("split", 2)
    small_w, small_h = _even(width / _BLUR_DOWNSCALE), _even(height / _BLUR_DOWNSCALE)
    bg = (
        split[0]
        .filter("scale", small_w, small_h, force_original_aspect_ratio="increase")
        .filter("crop", small_w, small_h)
        .filter("gblur", sigma=3)
        .filter("eq", brightness=-0.08)
        .filter("scale", width, height)
        .filter("setsar", "1")
    )
    fg = split[1].filter("scale", fg_w, fg_h).filter("setsar", "1")
    return bg.overlay(fg, x=(width - fg_w) // 2, y=(height - fg_h) // 2)


def clip_video(
    stream: Any, clip: Clip, width: int, height: int, fps: Fraction, frames: int, fit: str
) -> Any:
    """The clip's picture as exactly `frames` frames of width x height at `fps`.

    `stream` is the input's video, already trimmed at the input to the clip's span.
    """
    v = stream.filter("setpts", "PTS-STARTPTS").filter("fps", fps=fmt_fraction(fps))
    src_w, src_h = clip.src_width or width, clip.src_height or height
    if clip.crop is not None:
        from pipeline.render.crop import apply_crop

        v, src_w, src_h = apply_crop(v, clip, fps)
    if clip.color:
        from pipeline.render.color import apply_color

        v = apply_color(v, clip.color)
    v = fit_picture(v, src_w, src_h, width, height, clip.fit or fit)
    # Hold the last frame for clip.hold plus a safety margin, then cut to the exact count.
    pad = float(clip.hold) + 4 / float(fps)
    v = v.filter("tpad", stop_mode="clone", stop_duration=f"{pad:.6f}")
    return v.filter("trim", end_frame=frames).filter("setpts", "PTS-STARTPTS").filter("format", "yuv420p")
