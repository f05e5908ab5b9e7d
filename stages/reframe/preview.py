"""A reframing preview for a person to judge: each source dimmed, with the crop window
shown at full brightness inside a yellow frame, clips one after another."""

from __future__ import annotations

from pathlib import Path

from pipeline.progress import Reporter
from pipeline.timebase import fmt_fraction, seconds_arg
from pipeline.model.timeline import Timeline

_BORDER = 2


def build_preview_argv(tl: Timeline, out: Path) -> list[str]:
    """One ffmpeg command writing the preview of every clip to `out`."""
    import ffmpeg

    from pipeline.ffmpeg import graph_argv, media_path
    from pipeline.render.crop import fit_linear_pieces, linear_expression

    first = tl.video[0]
    size_w = (first.crop.source_size[0] if first.crop else first.src_width) // 2 * 2
    size_h = (first.crop.source_size[1] if first.crop else first.src_height) // 2 * 2
    fps = fmt_fraction(tl.canvas.fps)
    parts = []
    for clip in tl.video:
        kwargs = {"t": seconds_arg(clip.source_duration)}
        if clip.in_point > 0:
            kwargs["ss"] = seconds_arg(clip.in_point)
        v = ffmpeg.input(media_path(clip.source), **kwargs).video.filter("setpts", "PTS-STARTPTS").filter("fps", fps=fps)
        if clip.crop is not None:
            w, h = clip.crop.window_size
            start = float(clip.in_point)
            frames = [f for f in clip.crop.frames if f[0] - start >= -1e-6] or clip.crop.frames[-1:]
            ts = [max(0.0, f[0] - start) for f in frames]
            xk = fit_linear_pieces(ts, [round(f[1]) for f in frames])
            yk = fit_linear_pieces(ts, [round(f[2]) for f in frames])
            split = v.filter_multi_output("split", 2)
            dim = split[0].filter("eq", brightness=-0.3, saturation=0.4)
            win = (split[1].filter("crop", w, h, linear_expression(xk), linear_expression(yk), exact=1)
                   .filter("pad", w + 2 * _BORDER, h + 2 * _BORDER, _BORDER, _BORDER, color="yellow"))
            ox = linear_expression([(t, x - _BORDER) for t, x in xk])
            oy = linear_expression([(t, y - _BORDER) for t, y in yk])
            v = dim.overlay(win, x=ox, y=oy, eval="frame")
        v = (v.filter("scale", size_w, size_h, force_original_aspect_ratio="decrease")
             .filter("pad", size_w, size_h, "(ow-iw)/2", "(oh-ih)/2").filter("setsar", "1"))
        parts.append(v)
    v = ffmpeg.concat(*parts, v=1, a=0) if len(parts) > 1 else parts[0]
    node = ffmpeg.output(v, media_path(out), vcodec="libx264", preset="veryfast", crf=23, pix_fmt="yuv420p",
                         movflags="+faststart", f="mp4")
    return graph_argv(node, progress=True)


def render_preview(tl: Timeline, out: Path, reporter: Reporter | None = None) -> Path:
    """Write the preview atomically."""
    from pipeline.files import atomic_output
    from pipeline.ffmpeg import run_ffmpeg

    with atomic_output(out) as tmp:
        duration = float(sum((c.source_duration for c in tl.video), start=0))
        run_ffmpeg(build_preview_argv(tl, Path(tmp)), duration, label="preview", reporter=reporter)
    return out
