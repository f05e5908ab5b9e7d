"""probe(path) -> MediaInfo, read in-process with PyAV (no ffprobe binary needed)."""

from __future__ import annotations

import dataclasses
import functools
import os
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

from pipeline.errors import InputError
from pipeline.timebase import fmt_fraction

# FFmpeg's AVColorSpace and AVColorRange numbers, as ffprobe names them.
_COLOR_SPACES = {0: "gbr", 1: "bt709", 2: "unknown", 4: "fcc", 5: "bt470bg", 6: "smpte170m",
                 7: "smpte240m", 8: "ycgco", 9: "bt2020nc", 10: "bt2020c"}
_COLOR_RANGES = {0: "unknown", 1: "tv", 2: "pc"}

# How many packets are inspected to decide whether the frame rate is variable.
_VFR_PACKETS = 240


@dataclass(frozen=True)
class VideoStreamInfo:
    index: int
    codec: str
    width: int
    height: int
    fps: Fraction
    variable_fps: bool
    pix_fmt: str
    rotation: int = 0
    sample_aspect: Fraction = Fraction(1)
    color_space: str = "unknown"
    color_range: str = "unknown"
    duration: Fraction | None = None
    start_time: Fraction = Fraction(0)
    frames: int = 0

    @property
    def display_size(self) -> tuple[int, int]:
        """Width and height as shown: square pixels, rotation applied."""
        w = round(self.width * self.sample_aspect) if self.sample_aspect else self.width
        h = self.height
        if self.rotation % 180:
            w, h = h, w
        return int(w), int(h)

    @property
    def display_aspect(self) -> Fraction:
        w, h = self.display_size
        return Fraction(w, h)


@dataclass(frozen=True)
class AudioStreamInfo:
    index: int
    codec: str
    sample_rate: int
    channels: int
    layout: str
    duration: Fraction | None = None
    start_time: Fraction = Fraction(0)


@dataclass(frozen=True)
class MediaInfo:
    path: str
    container: str
    duration: Fraction
    size_bytes: int
    bit_rate: int
    video: tuple[VideoStreamInfo, ...] = field(default_factory=tuple)
    audio: tuple[AudioStreamInfo, ...] = field(default_factory=tuple)

    @property
    def has_video(self) -> bool:
        return bool(self.video)

    @property
    def has_audio(self) -> bool:
        return bool(self.audio)

    @property
    def v(self) -> VideoStreamInfo:
        if not self.video:
            raise InputError(f"{self.path}: has no video stream")
        return self.video[0]

    def to_dict(self) -> dict[str, Any]:
        def conv(obj: Any) -> Any:
            if isinstance(obj, Fraction):
                return {"fraction": fmt_fraction(obj), "seconds": float(obj)} if obj.denominator != 1 else int(obj)
            if isinstance(obj, (list, tuple)):
                return [conv(o) for o in obj]
            if isinstance(obj, dict):
                return {k: conv(v) for k, v in obj.items()}
            return obj

        data = conv(dataclasses.asdict(self))
        data["duration"] = float(self.duration)
        for vs, d in zip(self.video, data["video"]):
            d["fps"] = fmt_fraction(vs.fps)
            d["fps_float"] = round(float(vs.fps), 6)
            d["display_aspect"] = fmt_fraction(vs.display_aspect).replace("/", ":")
            d["display_size"] = list(vs.display_size)
            d["sample_aspect"] = fmt_fraction(vs.sample_aspect).replace("/", ":")
            d["duration"] = float(vs.duration) if vs.duration is not None else None
            d["start_time"] = float(vs.start_time)
        for a, d in zip(self.audio, data["audio"]):
            d["duration"] = float(a.duration) if a.duration is not None else None
            d["start_time"] = float(a.start_time)
        return data


def _stream_duration(stream: Any) -> Fraction | None:
    if stream.duration is not None and stream.time_base is not None:
        return Fraction(stream.duration) * Fraction(stream.time_base)
    return None


def _stream_start(stream: Any) -> Fraction:
    if stream.start_time is not None and stream.time_base is not None:
        return Fraction(stream.start_time) * Fraction(stream.time_base)
    return Fraction(0)


def _frame_rate_and_vfr(container: Any, stream: Any) -> tuple[Fraction, bool]:
    """Exact nominal rate and whether packet timestamps say the rate varies."""
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    base = stream.base_rate or stream.guessed_rate
    pts: list[int] = []
    try:
        for packet in container.demux(stream):
            if packet.pts is not None:
                pts.append(packet.pts)
            if len(pts) >= _VFR_PACKETS:
                break
    except Exception:  # noqa: BLE001 - a damaged tail still leaves a usable rate
        pass
    variable = False
    if len(pts) > 3 and stream.time_base:
        pts.sort()
        if len(pts) > 32:  # decode order runs ahead of display order (B-frames): the
            pts = pts[:-16]  # newest timestamps still have gaps that later packets fill
        deltas = [b - a for a, b in zip(pts, pts[1:]) if b > a]
        if deltas:
            lo, hi = min(deltas), max(deltas)
            variable = hi > lo * 1.5 + 1
    if base and rate and abs(float(base) - float(rate)) / float(base) > 0.01 and not variable:
        # average and nominal disagree although timestamps are regular: prefer the nominal
        rate = base
    if not rate:
        raise InputError("no frame rate")
    return Fraction(rate.numerator, rate.denominator), variable


def _is_cover_art(stream: Any) -> bool:
    try:
        import av

        return bool(stream.disposition & av.stream.Disposition.attached_pic)
    except (AttributeError, TypeError):
        return False


def _rotation(container: Any, stream: Any) -> int:
    try:
        container.seek(0)
        for frame in container.decode(stream):
            return int(round(getattr(frame, "rotation", 0) or 0)) % 360
    except Exception:  # noqa: BLE001
        return 0
    return 0


def _media_end(container: Any, stream: Any, duration: Fraction) -> Fraction | None:
    """Where `stream`'s packets really end (seconds from its start), read from the last
    second's packets without decoding; None when that cannot be found out."""
    tb = stream.time_base
    if tb is None or duration <= 0:
        return None
    start = _stream_start(stream)
    try:
        target = max(Fraction(0), start + duration - 1)
        container.seek(int(target / Fraction(tb)), stream=stream, backward=True, any_frame=False)
        end: Fraction | None = None
        for packet in container.demux(stream):
            if packet.pts is None:
                continue
            stop = (packet.pts + (packet.duration or 0)) * Fraction(tb)
            end = stop if end is None or stop > end else end
    except Exception:  # noqa: BLE001 - no seek index or damaged data: no finding either way
        return None
    return None if end is None else end - start


def _check_complete(path: str, container: Any, streams: list[tuple[Any, Fraction | None]]) -> None:
    """InputError for a file cut short (a copy or download that stopped): its header
    promises more than its data holds, so every render would stop early or stall."""
    for stream, duration in streams:
        if not duration:
            continue
        end = _media_end(container, stream, duration)
        if end is not None and end < duration - max(Fraction(1, 2), duration / 20):
            kind = stream.type
            raise InputError(f"{path}: truncated or damaged: its {kind} stops at {float(end):.2f}s "
                             f"of {float(duration):.2f}s")


@functools.lru_cache(maxsize=256)
def _probe_cached(path: str, mtime_ns: int, size: int) -> MediaInfo:
    import av  # imported lazily: keeps `reelforge --help` fast

    from pipeline.ffmpeg import media_path

    try:
        container = av.open(media_path(path))
    except Exception as exc:  # noqa: BLE001 - PyAV raises many types for bad files
        raise InputError(f"{path}: not a readable media file ({exc.__class__.__name__})") from None
    try:
        video: list[VideoStreamInfo] = []
        audio: list[AudioStreamInfo] = []
        for s in container.streams.video:
            if _is_cover_art(s):
                continue
            cc = s.codec_context
            if not cc.width or not cc.height:
                raise InputError(f"{path}: video stream {s.index} has no picture size")
            fps, vfr = _frame_rate_and_vfr(container, s)
            rotation = _rotation(container, s)
            sar = s.sample_aspect_ratio
            video.append(
                VideoStreamInfo(
                    index=s.index,
                    codec=cc.name,
                    width=cc.width,
                    height=cc.height,
                    fps=fps,
                    variable_fps=vfr,
                    pix_fmt=cc.pix_fmt or "unknown",
                    rotation=rotation,
                    sample_aspect=Fraction(sar.numerator, sar.denominator) if sar else Fraction(1),
                    color_space=_COLOR_SPACES.get(int(getattr(cc, "colorspace", 2) or 2), "unknown"),
                    color_range=_COLOR_RANGES.get(int(getattr(cc, "color_range", 0) or 0), "unknown"),
                    duration=_stream_duration(s),
                    start_time=_stream_start(s),
                    frames=int(s.frames or 0),
                )
            )
        for s in container.streams.audio:
            cc = s.codec_context
            audio.append(
                AudioStreamInfo(
                    index=s.index,
                    codec=cc.name,
                    sample_rate=int(s.rate or cc.sample_rate or 0),
                    channels=int(s.channels or 0),
                    layout=s.layout.name if s.layout else "unknown",
                    duration=_stream_duration(s),
                    start_time=_stream_start(s),
                )
            )
        if not video and not audio:
            raise InputError(f"{path}: contains no audio or video stream")
        if container.duration is not None:
            duration = Fraction(container.duration, 1_000_000)
        else:
            durations = [d for d in [*(v.duration for v in video), *(a.duration for a in audio)] if d]
            duration = max(durations) if durations else Fraction(0)
        if duration <= 0:
            raise InputError(f"{path}: media has no duration (empty or truncated)")
        firsts = [s for s in container.streams.video if not _is_cover_art(s)][:1] + list(container.streams.audio)[:1]
        _check_complete(path, container, [(s, _stream_duration(s) or duration) for s in firsts])
        return MediaInfo(
            path=path,
            container=container.format.name,
            duration=duration,
            size_bytes=size,
            bit_rate=int(container.bit_rate or 0),
            video=tuple(video),
            audio=tuple(audio),
        )
    finally:
        container.close()


def probe(path: str | os.PathLike[str]) -> MediaInfo:
    """Read container and stream facts. Raises InputError naming the file when unreadable."""
    p = Path(path)
    if not p.exists():
        raise InputError(f"{p}: no such file")
    if p.is_dir():
        raise InputError(f"{p}: is a folder, not a media file")
    st = p.stat()
    if st.st_size == 0:
        raise InputError(f"{p}: file is empty")
    return _probe_cached(str(p.resolve()), st.st_mtime_ns, st.st_size)


def probe_audio_source(path: str | os.PathLike[str], option: str) -> MediaInfo:
    """Probe a file that must carry sound (a music track, a file to take beats from);
    any problem is an InputError naming `option` and the file."""
    from pipeline.errors import ReelforgeError

    p = Path(path)
    if not p.is_file():
        raise InputError(f"{option} {p}: no such file")
    try:
        info = probe(p)
    except ReelforgeError as exc:
        raise InputError(f"{option} {p}: not readable media ({exc})") from None
    if not info.has_audio:
        raise InputError(f"{option} {p}: the file has no audio")
    return info
