"""An offset per shot: a stitched file or a timeline can hold one late shot among good
ones, so each shot is measured against its own picture.

A file's shots come from the cuts its picture shows (the `cut` events of the file's one
analysis); a timeline's shots are its clips, each measured over its own span of its source.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from stages.check.sync import SyncResult

MIN_SHOT_S = 3.0  # a cut closer than this to another one (or to an end) does not split a shot:
# rapid cuts (a montage cut to the beat) are events to measure by, not shots of their own


@dataclass
class Shot:
    """One shot: where it sits in the checked file or timeline, and its measured offset."""

    index: int  # 1-based
    start_s: float  # in the checked file or timeline
    end_s: float
    sync: SyncResult
    clip: str = ""  # the timeline clip's id or file name
    source: str = ""  # the file that was measured
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        where = f"{self.start_s:.2f}-{self.end_s:.2f} s"
        return f"shot {self.index} {self.clip} ({where})" if self.clip else f"shot {self.index} ({where})"

    def to_dict(self) -> dict[str, Any]:
        s = self.sync
        out: dict[str, Any] = {"index": self.index, "start_s": round(self.start_s, 4), "end_s": round(self.end_s, 4),
                               "offset_ms": s.offset_ms, "confidence": s.confidence, "feature": s.feature,
                               "reason": s.reason}
        if self.clip:
            out.update({"clip": self.clip, "source": self.source})
        return out


def cut_spans(cut: list[float], fps: float, v0: float, duration: float) -> list[tuple[float, float]]:
    """Shot spans (file seconds) between the cut frames of a `cut` event array."""
    n = len(cut)
    end = v0 + n / fps if n else duration
    times = [v0] + [v0 + int(k) / fps for k in np.flatnonzero(np.asarray(cut) > 0)] + [end]
    bounds = [v0] + [t for before, t, after in zip(times, times[1:], times[2:])
                     if t - before >= MIN_SHOT_S and after - t >= MIN_SHOT_S] + [end]
    return list(zip(bounds[:-1], bounds[1:]))


def file_shots(path: str, lips: bool = True, known: list[tuple[float, float, str]] | None = None,
               cuts_s: list[float] | None = None) -> list[Shot]:
    """Each shot of a media file, cut where its picture cuts, with its offset. A file
    rendered from a timeline has `known` shots instead: (start, end, clip id) in file
    seconds, with the cuts between them (`cuts_s`); fades do not show as cuts."""
    from pipeline.model.media import probe
    from stages.check.measure import _lips_in_span, best_of, file_events, measure_span

    info = probe(path)
    if not info.has_video or not info.has_audio:
        return [Shot(1, 0.0, float(info.duration), SyncResult(None, 0.0, reason="needs both a video and an audio stream"),
                     source=path)]
    if known:
        shots = []
        for i, (a, b, clip) in enumerate(known, 1):
            res = measure_span(path, a, b, lips=lips)
            res.start_s, res.end_s = round(a, 4), round(b, 4)
            res.cut_times = [round(c, 4) for c in (cuts_s or [])][:50]
            shots.append(Shot(i, a, b, res, clip=clip, source=path))
        return shots
    v = info.v
    fps, v0 = float(v.fps), float(v.start_time)
    box: dict[str, Any] = {}

    def whole_lips() -> None:  # the common case is one shot: its lips start with the decode
        try:
            box["lips"] = _lips_in_span(path, info, v0, float(info.duration), 1.0)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            box["error"] = exc

    import cv2  # noqa: F401 - imported here first: OpenCV's loader is not safe to run from two threads at once

    t = threading.Thread(target=whole_lips, daemon=True) if lips else None
    if t:
        t.start()
    data = file_events(path, info)
    if t:
        t.join()
        if "error" in box:
            raise box["error"]
    spans = cut_spans(data["cut"], fps, v0, float(info.duration))
    cuts = [round(int(k) / fps, 4) for k in np.flatnonzero(np.asarray(data["cut"]) > 0)][:50]
    shots = []
    for i, (a, b) in enumerate(spans, 1):
        res = measure_span(path, a, b, lips=False)
        if lips:
            lip = box["lips"] if len(spans) == 1 else _lips_in_span(path, info, a, b, 1.0)
            res = best_of(res, lip)
        res.start_s, res.end_s = round(a, 4), round(b, 4)
        res.cut_times = cuts  # every cut the picture shows, from the video's start
        shots.append(Shot(i, a, b, res, source=path))
    return shots


def rendered_shots(tl: Any, max_shots: int = 24) -> list[tuple[float, float, str]]:
    """Where each clip of `tl` is seen alone in a file rendered from it: (start, end,
    clip id) in seconds, transitions left out (two pictures and sounds overlap there)."""
    spans = []
    starts = tl.clip_starts()
    for i, clip in enumerate(tl.video[:max_shots]):
        before = tl.video[i - 1].transition if i else None
        head = before.duration if before is not None and not before.is_cut else 0
        tail = clip.transition.duration if i < len(tl.video) - 1 and not clip.transition.is_cut else 0
        a, b = float(starts[i] + head), float(starts[i] + clip.duration - tail)
        if b > a:
            spans.append((a, b, clip.id or f"clip {i + 1}"))
    return spans


def timeline_shots(tl: Any, max_shots: int = 24) -> list[Shot]:
    """Each clip with sound, measured over its own span of its source."""
    from pathlib import Path

    from stages.check.measure import measure_sync

    shots = []
    for i, (start, clip) in enumerate(zip(tl.clip_starts(), tl.video), 1):
        if not clip.has_audio or len(shots) >= max_shots:
            continue
        res = measure_sync(clip.source, start=float(clip.in_point), end=float(clip.out_point))
        shots.append(Shot(i, float(start), float(start + clip.source_duration), res,
                          clip=clip.id or Path(clip.source).name, source=clip.source))
    return shots


def worst(shots: list[Shot]) -> Shot | None:
    """The measured shot furthest from sync (None when no shot was measured)."""
    measured = [s for s in shots if s.sync.offset_ms is not None]
    return max(measured, key=lambda s: abs(s.sync.offset_ms or 0.0)) if measured else None
