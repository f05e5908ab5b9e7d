"""Editor interchange: Timeline <-> OpenTimelineIO (.otio), for DaVinci Resolve, Premiere...

Times are RationalTime at the canvas rate (frame numbers when on the frame grid). A
reelforge transition of duration d overlapping clips A and B becomes an OTIO transition
centred on a cut: A's item ends d/2 after B starts (in whole frames), the rest of each
clip is a handle, as editors model dissolves. Each clip, track and the timeline also
carry their exact reelforge values in metadata["reelforge"], so a round trip is exact;
values an editor changed (trims moved in Resolve) win over that metadata.
"""

from __future__ import annotations

import math
import os
import re
import urllib.parse
from fractions import Fraction
from pathlib import Path
from typing import Any

from pipeline.errors import InputError
from pipeline.timebase import fmt_fraction, to_fraction, to_rate
from pipeline.model.timeline import AUDIO_ROLES, AudioItem, AudioTrack, Canvas, Caption, Clip, Marker, Timeline, Transition
from pipeline.model.codec import dump as _dump, load as _load

KEY = "reelforge"
_DISSOLVES = {"fade", "dissolve", "fadeblack", "fadewhite"}
_MARKER_COLORS = {"beat": "YELLOW", "downbeat": "ORANGE", "cue": "GREEN", "cut": "RED", "chapter": "BLUE"}


def _otio():  # noqa: ANN202 - heavy import kept out of module import time
    import opentimelineio

    return opentimelineio


def _rt(t: Fraction, rate: Fraction) -> Any:
    ot = _otio()
    return ot.opentime.RationalTime(float(t * rate), float(rate))


def _range(start: Fraction, duration: Fraction, rate: Fraction) -> Any:
    ot = _otio()
    return ot.opentime.TimeRange(_rt(start, rate), _rt(duration, rate))


def _url(path: str) -> str:
    return Path(path).resolve().as_uri()


def _plain(obj: Any) -> Any:
    """OTIO's AnyDictionary/AnyVector -> plain dicts and lists."""
    if hasattr(obj, "items") and not isinstance(obj, (str, bytes)):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)) or type(obj).__name__ == "AnyVector":
        return [_plain(v) for v in obj]
    return obj


def _meta(obj: Any) -> dict[str, Any]:
    value = obj.metadata.get(KEY) if obj.metadata else None
    return _plain(value) if value is not None else {}


def _path(url: str) -> str:
    if url.startswith("file:"):
        parsed = urllib.parse.urlparse(url)
        return urllib.parse.unquote(parsed.path)
    return url


# ---- writing -----------------------------------------------------------------------------
def timeline_to_otio(tl: Timeline) -> Any:
    """An opentimelineio.schema.Timeline for the edit."""
    ot = _otio()
    rate = tl.canvas.fps
    result = ot.schema.Timeline(name=str(tl.meta.get("name") or "reelforge"))
    result.global_start_time = _rt(Fraction(0), rate)
    result.metadata[KEY] = {
        "version": 1,
        "canvas": _dump(tl.canvas),
        "fit": tl.fit,
        "reframe": tl.reframe,
        "captions": _dump(tl.captions),
        "provenance": tl.provenance,
        "meta": tl.meta,
    }
    result.tracks.append(_video_track(tl, rate))
    for role, trk in tl.audio.items():
        for lane, track in enumerate(_audio_tracks(trk, rate)):
            track.name = role if lane == 0 else f"{role} {lane + 1}"
            result.tracks.append(track)
    for m in tl.markers:
        marker = ot.schema.Marker(name=m.label or m.kind, marked_range=_range(m.time, Fraction(0), rate),
                                  color=_MARKER_COLORS.get(m.kind, "PURPLE"),
                                  metadata={KEY: {"kind": m.kind, "time": fmt_fraction(m.time), "label": m.label}})
        result.tracks.markers.append(marker)
    return result


def _split(d: Fraction, rate: Fraction) -> tuple[Fraction, Fraction]:
    """(before the cut, after the cut) of a transition, the cut on a whole frame."""
    before = Fraction(math.floor(d * rate / 2)) / rate
    return before, d - before


def _video_track(tl: Timeline, rate: Fraction) -> Any:
    ot = _otio()
    track = ot.schema.Track(name="V1", kind=ot.schema.TrackKind.Video)
    n = len(tl.video)
    head = Fraction(0)  # how much of this clip's start lies before the previous cut
    for i, clip in enumerate(tl.video):
        tr = clip.transition
        has_next = i < n - 1 and not tr.is_cut
        before, after = _split(tr.duration, rate) if has_next else (Fraction(0), Fraction(0))
        start = clip.in_point + head
        duration = clip.duration - head - after
        extra = {k: v for k, v in _dump(clip).items() if k not in ("source", "transition")}
        ref = ot.schema.ExternalReference(target_url=_url(clip.source))
        if clip.src_duration:
            ref.available_range = _range(Fraction(0), clip.src_duration, rate)
        item = ot.schema.Clip(name=clip.label or clip.id or Path(clip.source).name, media_reference=ref,
                              source_range=_range(start, duration, rate), metadata={KEY: extra})
        track.append(item)
        if has_next:
            kind = ot.schema.TransitionTypes.SMPTE_Dissolve if tr.kind in _DISSOLVES else ot.schema.TransitionTypes.Custom
            track.append(ot.schema.Transition(
                name=tr.kind, transition_type=kind, in_offset=_rt(before, rate), out_offset=_rt(after, rate),
                metadata={KEY: {"kind": tr.kind, "duration": fmt_fraction(tr.duration)}}))
        head = before
    return track


def _audio_tracks(trk: AudioTrack, rate: Fraction) -> list[Any]:
    """One OTIO track per lane: items that overlap in time go to separate lanes."""
    ot = _otio()
    lanes: list[tuple[Any, list[Fraction]]] = []  # (track, [cursor])
    for item in sorted(trk.items, key=lambda it: it.start):
        lane = next((ln for ln in lanes if ln[1][0] <= item.start), None)
        if lane is None:
            t = ot.schema.Track(kind=ot.schema.TrackKind.Audio, metadata={KEY: {
                "role": trk.role, "gain_db": trk.gain_db, "muted": trk.muted, "duck": _dump(trk.duck)}})
            lane = (t, [Fraction(0)])
            lanes.append(lane)
        track, cursor = lane
        if item.start > cursor[0]:
            track.append(ot.schema.Gap(source_range=_range(Fraction(0), item.start - cursor[0], rate)))
        ref = ot.schema.ExternalReference(target_url=_url(item.source))
        track.append(ot.schema.Clip(
            name=item.id or Path(item.source).name, media_reference=ref,
            source_range=_range(item.in_point, item.duration, rate),
            metadata={KEY: {k: v for k, v in _dump(item).items() if k != "source"}}))
        cursor[0] = item.end
    if not lanes:
        lanes.append((ot.schema.Track(kind=ot.schema.TrackKind.Audio, metadata={KEY: {
            "role": trk.role, "gain_db": trk.gain_db, "muted": trk.muted, "duck": _dump(trk.duck)}}), [Fraction(0)]))
    return [t for t, _ in lanes]


def write_otio(tl: Timeline, path: str | os.PathLike[str]) -> Path:
    """Write the edit as .otio JSON, atomically."""
    from pipeline.files import atomic_output

    ot = _otio()
    target = Path(path)
    with atomic_output(target) as tmp:
        ot.adapters.write_to_file(timeline_to_otio(tl), str(tmp), adapter_name="otio_json")
    return target


# ---- reading -----------------------------------------------------------------------------
def _frac(t: Any, rate: Fraction) -> Fraction:
    """Seconds of an OTIO RationalTime, exact when it lies on the frame grid of `rate`."""
    value = Fraction(t.value).limit_denominator(1_000_000)
    t_rate = to_rate(float(t.rate))
    if t_rate != rate:
        return value / t_rate
    return value / rate


def _exact(meta: dict[str, Any], key: str, measured: Fraction, rate: Fraction) -> Fraction:
    """The exact metadata value when it agrees with the OTIO value to half a frame."""
    if key in meta:
        try:
            exact = to_fraction(meta[key])
        except (TypeError, ValueError):
            return measured
        if abs(exact - measured) * rate < Fraction(1, 2):
            return exact
    return measured


def otio_to_timeline(ot_tl: Any, where: str = "edit") -> Timeline:
    """A reelforge Timeline from an OTIO timeline (its first video track and audio tracks)."""
    ot = _otio()
    meta = _meta(ot_tl)
    video = [t for t in ot_tl.tracks if t.kind == ot.schema.TrackKind.Video]
    if not video:
        raise InputError(f"{where}: the edit has no video track")
    items = list(video[0])
    first = next((c for c in items if isinstance(c, ot.schema.Clip)), None)
    if first is None:
        raise InputError(f"{where}: the video track has no clips")
    if "canvas" in meta:
        canvas = _load(Canvas, meta["canvas"])
    else:
        canvas = None
    rate = canvas.fps if canvas else to_rate(float(first.source_range.start_time.rate))
    clips: list[Clip] = []
    prev_after = Fraction(0)
    for idx, child in enumerate(items):
        if isinstance(child, ot.schema.Transition):
            if not clips:
                raise InputError(f"{where}: a transition before the first clip")
            before, after = _frac(child.in_offset, rate), _frac(child.out_offset, rate)
            tmeta = _meta(child)
            kind = tmeta.get("kind") or ("fade" if child.transition_type == ot.schema.TransitionTypes.SMPTE_Dissolve
                                         else (child.name or "fade"))
            clips[-1].out_point += after
            clips[-1].transition = Transition(kind=str(kind), duration=_exact(tmeta, "duration", before + after, rate))
            prev_after = before
            continue
        if isinstance(child, ot.schema.Gap):
            raise InputError(f"{where}: gaps in the video track are not supported (item {idx + 1})")
        if not isinstance(child, ot.schema.Clip):
            raise InputError(f"{where}: unsupported item {type(child).__name__} in the video track")
        clips.append(_clip(child, rate, prev_after, where))
        prev_after = Fraction(0)
    for c in clips:
        cmeta = c._otio_meta  # type: ignore[attr-defined]
        c.in_point = _exact(cmeta, "in_point", c.in_point, rate)
        c.out_point = _exact(cmeta, "out_point", c.out_point, rate)
        del c._otio_meta  # type: ignore[attr-defined]
    if canvas is None:
        canvas = Canvas(width=clips[0].src_width // 2 * 2, height=clips[0].src_height // 2 * 2, fps=rate)
    tl = Timeline(canvas=canvas, video=clips, fit=meta.get("fit", "contain-blur"), reframe=meta.get("reframe"),
                  provenance=list(meta.get("provenance", [])), meta=dict(meta.get("meta", {})))
    if meta.get("captions"):
        tl.captions = [_load(Caption, c) for c in meta["captions"]]
    for track in ot_tl.tracks:
        if track.kind == ot.schema.TrackKind.Audio:
            _read_audio(tl, track, rate)
    for m in ot_tl.tracks.markers:
        mmeta = _meta(m)
        t = _exact(mmeta, "time", _frac(m.marked_range.start_time, rate), rate)
        tl.markers.append(Marker(time=t, kind=str(mmeta.get("kind", "cue")), label=str(mmeta.get("label", m.name))))
    tl.validate(where)
    return tl


def _clip(child: Any, rate: Fraction, head: Fraction, where: str) -> Clip:
    cmeta = _meta(child)
    ref = child.media_reference
    url = getattr(ref, "target_url", None)
    if not url:
        raise InputError(f"{where}: clip '{child.name}' has no media (offline in the editor?)")
    source = _path(url)
    start = _frac(child.source_range.start_time, rate) - head
    duration = _frac(child.source_range.duration, rate) + head
    if cmeta:
        body = {k: v for k, v in cmeta.items() if k in Clip.__dataclass_fields__}
        clip = _load(Clip, {**body, "source": source})
    else:
        from pipeline.model.clips import clip_from_media

        if not os.path.exists(source):
            raise InputError(f"{where}: clip '{child.name}': no such media file {source}")
        clip = clip_from_media(source)
        clip.label = child.name or ""
    clip.in_point = start
    clip.out_point = start + duration - clip.hold
    clip.transition = Transition()
    clip._otio_meta = cmeta  # type: ignore[attr-defined]
    return clip


def _read_audio(tl: Timeline, track: Any, rate: Fraction) -> None:
    ot = _otio()
    tmeta = _meta(track)
    role = str(tmeta.get("role") or track.name or "sfx")
    lane = re.fullmatch(r"(.+) \d+", role)
    if lane and lane.group(1) in AUDIO_ROLES:  # "music 2": a second lane of music
        role = lane.group(1)
    trk = tl.track(role)
    if tmeta:
        trk.gain_db = float(tmeta.get("gain_db", trk.gain_db))
        trk.muted = bool(tmeta.get("muted", trk.muted))
        if tmeta.get("duck"):
            from pipeline.model.timeline import Ducking

            trk.duck = _load(Ducking, tmeta["duck"])
    for child in track:
        if not isinstance(child, ot.schema.Clip):
            continue
        imeta = _meta(child)
        body = {k: v for k, v in imeta.items() if k in AudioItem.__dataclass_fields__}
        rng = track.range_of_child(child)
        start = _exact(imeta, "start", _frac(rng.start_time, rate), rate)
        in_point = _exact(imeta, "in_point", _frac(child.source_range.start_time, rate), rate)
        out_point = _exact(imeta, "out_point", in_point + _frac(child.source_range.duration, rate), rate)
        item = _load(AudioItem, {**body, "source": _path(child.media_reference.target_url),
                                 "start": fmt_fraction(start), "in_point": fmt_fraction(in_point),
                                 "out_point": fmt_fraction(out_point)})
        trk.items.append(item)


def read_otio(path: str | os.PathLike[str]) -> Timeline:
    """Load a .otio file as a Timeline (InputError naming the file when it cannot)."""
    ot = _otio()
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{p}: no such file")
    try:
        obj = ot.adapters.read_from_file(str(p), adapter_name="otio_json")
    except Exception as exc:  # noqa: BLE001 - OTIO raises several exception types
        raise InputError(f"{p}: not a readable OpenTimelineIO file ({exc.__class__.__name__}: {exc})") from None
    if isinstance(obj, ot.schema.SerializableCollection):
        obj = next((o for o in obj if isinstance(o, ot.schema.Timeline)), None)
    if not isinstance(obj, ot.schema.Timeline):
        raise InputError(f"{p}: the file holds no timeline")
    return otio_to_timeline(obj, where=str(p))
