"""The offset of a file or of a span of it, from every feature that can see one.

A file is analysed once (cached by content): picture events per frame from one tiny
decode, and the sound's onset envelope. A span reuses those arrays, sliced, and adds lips
when a face shows in it; the feature with the best calibrated confidence wins.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from stages.check.sync import (ANALYSIS_WIDTH, AUDIO_HOP, AUDIO_SR, MAX_LAG, SyncResult, audio_onsets, correlate,
                               gray_frames)

VERSION = 9


def file_events(path: str, info: Any, width: int = ANALYSIS_WIDTH) -> dict[str, Any]:
    """Per-frame picture events and the sound's onset envelope of a whole file (cached)."""
    from pipeline.analysis.cache import cached_json, file_digest

    def compute() -> dict[str, Any]:
        from pipeline.analysis.audio import decode_audio
        from pipeline.analysis.frames import analysis_size
        from stages.check.events import visual_features

        v = info.v
        w, h = analysis_size(*v.display_size, width)
        box: dict[str, Any] = {}

        def sound() -> None:
            try:
                box["onsets"] = audio_onsets(decode_audio(path, sample_rate=AUDIO_SR, mono=True))
            except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
                box["error"] = exc

        t = threading.Thread(target=sound, daemon=True)
        t.start()
        feats = visual_features(gray_frames(path, w, h, fps=float(v.fps) if v.variable_fps else None),
                                fps=float(v.fps))
        t.join()
        if "error" in box:
            raise box["error"]
        out: dict[str, Any] = {k: [round(float(x), 4) for x in f] for k, f in feats.items()}
        out["onsets"] = [round(float(x), 4) for x in box["onsets"]]
        return out

    return cached_json("syncevents", {"file": file_digest(path), "w": width, "v": VERSION}, compute)


def _events_in_span(path: str, info: Any, start: float, end: float, max_lag: float, width: int) -> SyncResult:
    data = file_events(path, info, width)
    v, a = info.v, info.audio[0]
    fps = float(v.fps)
    v0, a0 = float(v.start_time), float(a.start_time)
    k0 = max(0, int(round((start - v0) * fps)))
    k1 = max(k0, int(round((end - v0) * fps)))
    hop = AUDIO_HOP / AUDIO_SR
    i0 = max(0, int(round((start - a0) / hop)))
    i1 = max(i0, int(round((end - a0) / hop)))
    feats = {k: np.array(data[k][k0:k1], np.float32) for k in ("flash", "cut", "motion")}
    onsets = np.array(data["onsets"][i0:i1], np.float32)
    shift = (v0 + k0 / fps) - (a0 + i0 * hop)  # first frame of the span on the sound's clock
    res = correlate(onsets, feats, fps, max_lag, video_start=shift)
    cut = np.array(data["cut"], np.float32)
    res.cut_times = [round(k / fps, 4) for k in np.flatnonzero(cut[k0:k1] > 0) + k0][:50]
    if res.feature in feats and feats[res.feature].size and res.offset_ms is not None:
        res.peak_s = round(v0 + (k0 + int(np.argmax(feats[res.feature]))) / fps, 3)
    return res


def _lips_in_span(path: str, info: Any, start: float, end: float, max_lag: float) -> SyncResult:
    from pipeline.analysis.cache import cached_json, file_digest
    from stages.check import lips

    def compute() -> dict[str, Any]:
        return lips.measure_lips(path, info, start, end, max_lag).to_dict()

    key = {"file": file_digest(path), "start": round(start, 4), "end": round(end, 4), "lag": max_lag,
           "v": lips.VERSION}
    return SyncResult(**cached_json("lips", key, compute))


def measure_span(path: str, start: float = 0.0, end: float | None = None, max_lag: float = MAX_LAG,
                 width: int = ANALYSIS_WIDTH, lips: bool = True) -> SyncResult:
    """The offset over [start, end) of a file (the whole file by default)."""
    from pipeline.model.media import probe

    info = probe(path)
    if not info.has_video or not info.has_audio:
        return SyncResult(None, 0.0, reason="needs both a video and an audio stream")
    stop = float(info.duration) if end is None else float(end)
    box: dict[str, Any] = {}

    def run_lips() -> None:
        try:
            box["lips"] = _lips_in_span(path, info, start, stop, max_lag)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            box["error"] = exc

    import cv2  # noqa: F401 - imported here first: OpenCV's loader is not safe to run from two threads at once

    t = threading.Thread(target=run_lips, daemon=True) if lips else None
    if t:
        t.start()
    res = _events_in_span(path, info, start, stop, max_lag, width)
    if t:
        t.join()
        if "error" in box:
            raise box["error"]
        res = best_of(res, box["lips"])
    res.start_s, res.end_s = round(start, 4), round(stop, 4)
    return res


def measure_sync(path: str, max_lag: float = MAX_LAG, width: int = ANALYSIS_WIDTH,
                 start: float = 0.0, end: float | None = None, lips: bool = True) -> SyncResult:
    """Offset between sound and picture of a media file, or of the span [start, end) of it
    (cached by content). Picture events and, when a face shows, lips compete: the one
    with the best calibrated confidence wins."""
    return measure_span(path, start, end, max_lag=max_lag, width=width, lips=lips)


def best_of(events: SyncResult, lip: SyncResult) -> SyncResult:
    """The measured result with the higher calibrated confidence; when neither is
    measured, the one whose reason says more (a face was seen: the lips' reason)."""
    if lip.offset_ms is not None and (events.offset_ms is None or lip.confidence > events.confidence):
        lip.cut_times = events.cut_times
        return lip
    if events.offset_ms is None and lip.reason and lip.reason != "no face":
        lip.cut_times = events.cut_times
        return lip
    return events


