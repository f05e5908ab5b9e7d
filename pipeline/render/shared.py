"""Outputs whose encoded streams can be identical share one encode.

Two outputs can carry the same streams when they show the same timeline at the same size,
rate, codec, pixel format, profile and level, with the same sound (codec, bit rate, sample
rate, channels, and the loudness plan's gain and limiter), and with no picture of their
own on top (burned-in captions follow each platform's safe area). Such outputs are encoded
once, with the strictest rate control and keyframe interval any of them asks for (the
lowest CRF, the lowest VBV cap and buffer, the shortest GOP, the slowest x264 speed), and
each output file is a stream copy of that encode in its own container, finished by its
own seal (signing). Outputs that differ are encoded apart. Export verifies every output
against its own preset either way.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from pipeline.render.graph import OutputJob
from pipeline.render.settings import OutputSettings, parse_rate

# x264 speed presets, fastest first: of two, the later one compresses better.
SPEEDS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow", "placebo")


@dataclass
class Encode:
    """One encode: `job` is rendered; its file is remuxed into each of `members` (none:
    `job` is itself the output)."""

    job: OutputJob
    members: list[OutputJob] = field(default_factory=list)


def stream_key(job: OutputJob) -> tuple[Any, ...] | None:
    """What must be equal for two jobs to carry the same streams; None: never shared."""
    s = job.settings
    if job.overlay is not None or job.analysis or s.pass_num or s.video_bitrate:
        return None
    return (id(job.tl), s.width, s.height, s.fps, s.video_codec, s.pix_fmt, s.profile, s.level,
            s.audio_codec, s.audio_bitrate, s.sample_rate, s.channels, s.audio_gain_db, s.limiter_dbtp,
            s.limiter_release_ms, s.limiter_band_hz, s.faststart, json.dumps(s.extra, sort_keys=True, default=str),
            job.path.suffix.lower())


def strictest(settings: Sequence[OutputSettings]) -> OutputSettings:
    """Settings whose encode satisfies every one of `settings` (equal in stream_key)."""
    crfs = [s.crf for s in settings if s.crf is not None]
    caps = [s.maxrate for s in settings if s.maxrate]
    buffers = [s.bufsize for s in settings if s.bufsize]
    gops = [s.gop for s in settings if s.gop]
    speed = max((s.x264_preset for s in settings), key=lambda p: SPEEDS.index(p) if p in SPEEDS else -1)
    return dataclasses.replace(
        settings[0], crf=min(crfs) if crfs else None, maxrate=min(caps, key=parse_rate) if caps else None,
        bufsize=min(buffers, key=parse_rate) if buffers else None, gop=min(gops) if gops else None,
        x264_preset=speed)


def shared_encodes(jobs: Sequence[OutputJob], stack: contextlib.ExitStack) -> list[Encode]:
    """The encodes that make every job: one per group of jobs with equal streams. A shared
    encode is written to a scratch folder beside its first output (removed with `stack`)."""
    groups: dict[Any, list[OutputJob]] = {}
    for job in jobs:
        key = stream_key(job)
        groups.setdefault(key if key is not None else ("alone", id(job)), []).append(job)
    encodes = []
    for members in groups.values():
        if len(members) == 1:
            encodes.append(Encode(members[0]))
            continue
        first = members[0].path
        first.parent.mkdir(parents=True, exist_ok=True)
        scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(dir=first.parent, prefix=".reelforge-shared-")))
        leader = dataclasses.replace(members[0], path=scratch / f"shared{first.suffix}", seal=None,
                                     settings=strictest([m.settings for m in members]))
        encodes.append(Encode(leader, list(members)))
    return encodes


def remux_shared(encoded: Path, members: Sequence[OutputJob]) -> None:
    """Each member's file: the encode's streams copied into its own container (atomic,
    sealed before the rename like any render)."""
    import ffmpeg

    from pipeline.ffmpeg import graph_argv, media_path, run_ffmpeg_quiet
    from pipeline.files import atomic_output

    for job in members:
        with atomic_output(job.path, job.seal) as tmp:
            args: dict[str, Any] = {"c": "copy", "map": 0}
            if job.settings.faststart:
                args["movflags"] = "+faststart"
            node = ffmpeg.input(media_path(encoded)).output(media_path(tmp), **args)
            run_ffmpeg_quiet(graph_argv(node), f"remux {job.path.name}")
