"""Lossless fast path: join whole files with ffmpeg's concat demuxer and `-c copy`.

Taken only when nothing in the timeline needs a decode: every clip is a whole file,
every cut is hard, no colour, crop, hold or effect, no other audio track, and all files
share codec (and its parameter sets), size, frame rate, pixel format, rotation and
audio layout, which also match the canvas. The packets are written unchanged.
"""

from __future__ import annotations

import os
import tempfile
from fractions import Fraction
from pathlib import Path
from typing import Callable

from pipeline.ffmpeg import media_path
from pipeline.progress import Reporter
from pipeline.model.timeline import Timeline

# A whole file: the clip may end this close to the source's end and still count.
_WHOLE_TOLERANCE = Fraction(1, 1000)


def _stream_signature(path: str) -> tuple[tuple, tuple | None]:
    """(video facts, audio facts or None) that must match for a packet-level join."""
    import av

    from pipeline.model.media import probe

    info = probe(path)
    if len(info.video) != 1 or len(info.audio) > 1:
        return ("streams", len(info.video), len(info.audio)), None
    v = info.v
    with av.open(media_path(path)) as c:
        vs = c.streams.video[0]
        extradata = bytes(vs.codec_context.extradata or b"")
        profile = vs.codec_context.profile
        a_extra = bytes(c.streams.audio[0].codec_context.extradata or b"") if c.streams.audio else b""
    video = (v.codec, v.width, v.height, v.fps, v.variable_fps, v.pix_fmt, v.rotation, v.sample_aspect,
             profile, extradata)
    audio = None
    if info.audio:
        a = info.audio[0]
        audio = (a.codec, a.sample_rate, a.channels, a.layout, a_extra)
    return video, audio


def why_not_stream_copy(tl: Timeline) -> str | None:
    """None when the timeline can be written by stream copy, else the reason it cannot."""
    if not tl.video:
        return "no clips"
    for role, track in tl.audio.items():
        if role != "original" and track.items:
            return f"the {role} track must be mixed"
        if role == "original" and (track.muted or track.gain_db):
            return "the clips' sound has a gain"
    if tl.captions:
        return "captions must be drawn"
    if tl.reframe:
        return "the timeline is reframed"
    sigs = []
    for i, clip in enumerate(tl.video):
        name = f"clip {i + 1} ({Path(clip.source).name})"
        if i < len(tl.video) - 1 and not clip.transition.is_cut:
            return f"{name} has a {clip.transition.kind} transition"
        if clip.in_point != 0 or (clip.src_duration and clip.out_point < clip.src_duration - _WHOLE_TOLERANCE):
            return f"{name} is trimmed"
        if clip.hold or clip.crop is not None or clip.color or clip.effect:
            return f"{name} has a hold, crop, colour fix or effect"
        if clip.audio_shift:
            return f"{name} has its sound shifted"
        if "\n" in clip.source or "\r" in clip.source:
            return f"{name}: its file name cannot be written to a concat list"
        sigs.append(_stream_signature(clip.source))
    first_v, first_a = sigs[0]
    if first_v[0] == "streams":
        return "clip 1 does not have exactly one video stream and at most one audio stream"
    for i, (v, a) in enumerate(sigs[1:], 2):
        if v != first_v:
            return f"clip {i} differs from clip 1 in codec, size, frame rate or pixel format"
        if a != first_a:
            return f"clip {i} differs from clip 1 in its audio (codec, layout or presence)"
    codec, w, h, fps, vfr = first_v[:5]
    c = tl.canvas
    if (w, h) != (c.width, c.height) or fps != c.fps:
        return f"the canvas {c.width}x{c.height}@{float(c.fps):g} differs from the clips"
    if vfr:
        return "the clips have a variable frame rate"
    return None


def concat_list(paths: list[str]) -> str:
    """The concat demuxer's list: one `file '...'` line per path, quotes escaped."""
    lines = ["ffconcat version 1.0"]
    for p in paths:
        quoted = media_path(p).replace("'", "'\\''")
        lines.append(f"file '{quoted}'")
    return "\n".join(lines) + "\n"


def stream_copy(tl: Timeline, output: Path, reporter: Reporter | None = None,
                seal: Callable[[Path], None] | None = None) -> Path:
    """Write the clips one after another into `output` without re-encoding, atomically;
    `seal` finishes the file (signs it) before the rename."""
    from pipeline.files import atomic_output
    from pipeline.ffmpeg import preamble, run_ffmpeg

    listing = concat_list([c.source for c in tl.video])
    fd, list_path = tempfile.mkstemp(prefix="reelforge-concat-", suffix=".txt")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(listing)
        with atomic_output(output, seal) as tmp:
            argv = [*preamble(progress=True), "-f", "concat", "-safe", "0", "-auto_convert", "0",
                    "-i", media_path(list_path), "-map", "0", "-c", "copy"]
            if output.suffix.lower() in (".mp4", ".mov", ".m4v"):
                argv += ["-movflags", "+faststart"]
            argv.append(media_path(tmp))
            run_ffmpeg(argv, float(tl.duration), label="stream copy", reporter=reporter)
    finally:
        os.unlink(list_path)
    return output
