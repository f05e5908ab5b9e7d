"""Clips made from media files, and timelines built from them."""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path
from typing import Iterable

from pipeline.errors import InputError
from pipeline.model.timeline import Canvas, Clip, Timeline


def is_timeline_path(path: str | os.PathLike[str]) -> bool:
    return str(path).endswith(".timeline.json")


def clip_from_media(path: str | os.PathLike[str], clip_id: str = "") -> Clip:
    """A clip spanning a whole media file, with its facts from probe()."""
    from pipeline.model.media import probe

    info = probe(path)
    v = info.v
    w, h = v.display_size
    dur = v.duration if v.duration else info.duration
    if info.has_audio:
        dur = min(dur, info.duration)
    return Clip(
        source=info.path,
        in_point=Fraction(0),
        out_point=dur,
        id=clip_id or Path(path).stem,
        has_audio=info.has_audio,
        src_width=w,
        src_height=h,
        src_fps=v.fps,
        src_duration=dur,
    )


def timeline_from_media(paths: Iterable[str | os.PathLike[str]], canvas: Canvas | None = None) -> Timeline:
    """A plain sequence of whole files; the canvas is the first clip's size and rate."""
    clips = [clip_from_media(p) for p in paths]
    if not clips:
        raise InputError("no input files")
    if canvas is None:
        first = clips[0]
        canvas = Canvas(width=first.src_width // 2 * 2, height=first.src_height // 2 * 2, fps=first.src_fps)
    return Timeline(canvas=canvas, video=clips)


def require_sources(tl: Timeline, where: str) -> None:
    """InputError naming the edit and the first media file it reads that is gone (moved or
    deleted since the edit was written), before any analysis or encoding starts."""
    from pipeline.model.media import probe

    for src in tl.sources():
        if not Path(src).exists():
            raise InputError(f"{where}: its source {src} no longer exists")
        if not Path(src).is_file():
            raise InputError(f"{where}: its source {src} is not a file")
    # An edited file may name anything: each source must be media of the kind it is used as.
    pictures = {c.source for c in tl.video}
    sounds = {i.source for trk in tl.audio.values() for i in trk.items}
    for src in tl.sources():
        try:
            info = probe(src)
        except InputError as exc:
            raise InputError(f"{where}: its source {exc}") from None
        if src in pictures and not info.has_video:
            raise InputError(f"{where}: its source {src} has no video stream, but a clip shows it")
        if src in sounds and not info.has_audio:
            raise InputError(f"{where}: its source {src} has no audio stream, but an audio item plays it")


def append_clips(tl: Timeline, clips: list[Clip]) -> Timeline:
    """Append clips; an empty timeline whose canvas is not fixed takes the first clip's shape."""
    if clips and not tl.video and not tl.meta.get("canvas_fixed"):
        first = clips[0]
        tl.canvas = Canvas(width=first.src_width // 2 * 2, height=first.src_height // 2 * 2,
                           fps=first.src_fps, sample_rate=tl.canvas.sample_rate, channels=tl.canvas.channels)
    tl.video.extend(clips)
    return tl


def empty_timeline() -> Timeline:
    """A timeline with no clips; the first clip added sets its canvas."""
    return Timeline(canvas=Canvas(width=1920, height=1080, fps=Fraction(30)))
