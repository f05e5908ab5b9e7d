"""Timeline + output settings -> one ffmpeg filter graph -> argv (built with ffmpeg-python)."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Callable, Sequence

import ffmpeg

from pipeline.model.timeline import Timeline
from pipeline.ffmpeg import media_path, preamble
from pipeline.render.audio import clip_audio, silence_spec
from pipeline.render.tracks import mix_tracks, reserve_tracks
from pipeline.render.join import join
from pipeline.render.pool import InputPool
from pipeline.render.settings import OutputSettings
from pipeline.render.spans import clip_spans, frames_to_samples, total_frames
from pipeline.render.video import clip_video


@dataclass(frozen=True)
class Frame:
    """A composition target: picture size and rate, sound rate."""

    width: int
    height: int
    fps: Fraction
    sample_rate: int


def reserve_timeline(pool: InputPool, tl: Timeline, frame: Frame) -> None:
    """Reserve every input one composition of `tl` at `frame` will take."""
    for clip in tl.video:
        pool.reserve(InputPool.clip_key(clip), "v")
        if clip.has_audio:
            pool.reserve(InputPool.clip_key(clip), "a")
        else:
            pool.reserve(InputPool.lavfi_key(silence_spec(frame.sample_rate)), "a")
    reserve_tracks(pool, tl, frame.sample_rate)


def compose(tl: Timeline, frame: Frame, pool: InputPool | None = None) -> tuple[Any, Any]:
    """The whole timeline as one (video, audio) stream pair at `frame`'s size and rates."""
    if pool is None:
        pool = InputPool()
        reserve_timeline(pool, tl, frame)
    pictures = [clip_video(pool.take(InputPool.clip_key(clip), "v"), clip, frame.width, frame.height,
                           frame.fps, n, tl.fit)
                for clip, (_, n) in zip(tl.video, clip_spans(tl, frame.fps))]
    sounds = clip_sounds(tl, frame.fps, frame.sample_rate, pool)
    v, a = join(tl, list(zip(pictures, sounds)), frame.fps, frame.sample_rate)
    total = frames_to_samples(total_frames(tl, frame.fps), frame.fps, frame.sample_rate)
    return v, mix_tracks(tl, a, frame.sample_rate, total, pool)


def clip_sounds(tl: Timeline, fps: Fraction, sample_rate: int, pool: InputPool) -> list[Any]:
    """Each clip's own sound (silence where it has none) as exactly the samples its frames
    span on the timeline at `fps`. Inputs come from `pool` (reserved by reserve_timeline)."""
    sounds = []
    for clip, (f0, n) in zip(tl.video, clip_spans(tl, fps)):
        samples = frames_to_samples(f0 + n, fps, sample_rate) - frames_to_samples(f0, fps, sample_rate)
        if clip.has_audio:
            sounds.append(clip_audio(pool.take(InputPool.clip_key(clip), "a"), clip, sample_rate, samples))
        else:
            sounds.append(pool.take(InputPool.lavfi_key(silence_spec(sample_rate)), "a").filter(
                "atrim", end_sample=samples))
    return sounds


def output_frame(tl: Timeline, s: OutputSettings) -> Frame:
    return Frame(s.width, s.height, s.fps, s.sample_rate)


def working_frame(tl: Timeline, frame: Frame) -> Frame:
    """The frame the composition runs at. When every clip shows pictures of one size (its
    crop window, or the source), of the output's shape and smaller than it, the clips are
    joined at that size (transitions cost a fraction) and scaled once at the end; a larger
    source is scaled down first, per clip, as is a mix of sizes or shapes."""
    sizes = {tuple(int(n) for n in c.crop.window_size) if c.crop is not None else (c.src_width, c.src_height)
             for c in tl.video}
    if len(sizes) != 1:
        return frame
    w, h = sizes.pop()
    if w <= 0 or h <= 0 or w % 2 or h % 2 or w * h >= frame.width * frame.height:
        return frame
    if abs(w * frame.height - h * frame.width) > max(w, frame.width) * 0.01 * frame.height:
        return frame  # another shape: fit_picture pads, crops or blurs at the output's size
    return Frame(w, h, frame.fps, frame.sample_rate)


@dataclass
class OutputJob:
    """One output of a multi-output run: the timeline it shows (outputs may differ in
    reframing or trimming), its settings, its file, and an optional picture overlay (an
    ffconcat list of full-frame transparent images, e.g. burned-in captions).
    analysis=True makes a first-pass output: video only, to the null muxer."""

    tl: Timeline
    settings: OutputSettings
    path: Path
    overlay: Path | None = None
    overlay_xy: tuple[int, int] = (0, 0)
    analysis: bool = False
    seal: Callable[[Path], None] | None = None  # finishes the file before its rename (signing)


def build_argv(
    tl: Timeline, outputs: Sequence[tuple[OutputSettings, Path]], overwrite: bool = True
) -> list[str]:
    """One ffmpeg command writing every output; outputs sharing a frame share one composition."""
    return build_jobs_argv([OutputJob(tl, s, Path(p)) for s, p in outputs], overwrite)


def build_jobs_argv(jobs: Sequence[OutputJob], overwrite: bool = True) -> list[str]:
    """One ffmpeg command for every job. Jobs that show the same timeline at the same frame
    (working_frame: the clips' own size when that is the cheaper one) share one
    composition, split for each encoder and scaled to each output's size. The compositions
    share their inputs (InputPool: each use of a source decoded once, split between
    compositions), so N presets cost one decode per use, one composition per distinct
    frame and N encodes."""
    groups: dict[tuple[int, Frame], list[OutputJob]] = {}
    for job in jobs:
        frame = working_frame(job.tl, output_frame(job.tl, job.settings))
        groups.setdefault((id(job.tl), frame), []).append(job)
    pool = InputPool()
    for n, ((_, frame), members) in enumerate(groups.items()):
        pool.start(n)
        reserve_timeline(pool, members[0].tl, frame)
        for job in members:
            if job.overlay is not None:
                pool.reserve(InputPool.concat_key(str(job.overlay)), "v")
    from pipeline.render.tracks import master  # per-output gain and limiter, as pipeline.loudness.plan decided

    nodes = []
    for n, ((_, frame), members) in enumerate(groups.items()):
        pool.start(n)
        tl = members[0].tl
        v, a = compose(tl, frame, pool)
        total = frames_to_samples(total_frames(tl, frame.fps), frame.fps, frame.sample_rate)
        if len(members) > 1:
            vs = v.filter_multi_output("split", len(members))
            as_ = a.filter_multi_output("asplit", len(members))
            pairs = [(vs[i], as_[i]) for i in range(len(members))]
        else:
            pairs = [(v, a)]
        for job, (pv, pa) in zip(members, pairs):
            pa = master(pa, job.settings, total)
            if (frame.width, frame.height) != (job.settings.width, job.settings.height):
                pv = pv.filter("scale", job.settings.width, job.settings.height).filter("setsar", "1")
            if job.overlay is not None:
                layer = pool.take(InputPool.concat_key(str(job.overlay)), "v")
                pv = pv.overlay(layer, x=job.overlay_xy[0], y=job.overlay_xy[1], eof_action="pass",
                                format="yuv420").filter(
                    "format", job.settings.pix_fmt)
            for name, arg in job.settings.hw_upload:  # frames handed to a hardware encoder's device
                pv = pv.filter(name, arg) if arg else pv.filter(name)
            if job.analysis:
                # A first pass still consumes the audio branch so the graph stays connected.
                nodes.append(ffmpeg.output(pv, "-", f="null", **job.settings.video_args()))
                nodes.append(ffmpeg.output(pa, "-", f="null"))
            else:
                nodes.append(ffmpeg.output(pv, pa, media_path(job.path), **job.settings.encoder_args()))
    out = ffmpeg.merge_outputs(*nodes) if len(nodes) > 1 else nodes[0]
    devices = [a for d in dict.fromkeys(job.settings.hw_device for job in jobs) for a in d]
    return [*preamble(progress=True, overwrite=overwrite), *devices, *out.get_args()]
