"""Lip sync: how far the sound of speech is from the mouth that speaks it.

The face is found with OpenCV's Haar cascade on a few small frames; only that region is
then decoded, at low resolution, and the face landmark model (landmarks.py) measures the
mouth on every frame: the inner-lip gap, the outer-lip height and the nose-to-lower-lip
distance, each over the distance between the eyes. Their syllable-rate changes are
correlated with those of the speech band's level (pipeline.analysis.speech) over
+-max_lag; the best lag, refined by a parabola, is the offset.

The confidence is calibrated, not guessed: the score r * sqrt(seconds) of the best lag
was measured on real talking heads paired with another clip's sound (docs/check.md), and
a Gumbel law fitted to those unrelated pairs turns a score into the probability that
unrelated sound would score lower. An offset is reported only above LIPS_MIN_CONFIDENCE.

Sign (ITU-R BT.1359): positive = the sound is early.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from pipeline.analysis.speech import SPEECH_HOP, band_envelope, changes, lagged_correlation, parabolic_peak

SEARCH_WIDTH = 320  # px: frames searched for a face
SEARCH_FPS = 2.0
KEYFRAME_SEARCH_S = 8.0  # from this long, the face is looked for on key frames first
FACE_SHARE = 0.4  # a face in at least this share of the searched frames
REGION = 256  # px: side of the decoded face region
REGION_SCALE = 2.4  # region side over the Haar box side (room for the head to move)
MAX_WINDOW_S = 12.0  # lips are measured over at most this much of a shot (the middle)
STILL_RANGE = 0.02  # inner-lip gap (of eye distance): a mouth that moves less is "still"
# Unrelated sound on real talking heads: Gumbel fit of r * sqrt(seconds) (docs/check.md)
CAL_MU = 0.58
CAL_BETA = 0.11
LIPS_MIN_CONFIDENCE = 0.97
VERSION = 2


@dataclass
class MouthCurve:
    """The mouth measured frame by frame over a span of a file (times from the file start)."""

    start: float
    fps: float
    opening: list[float | None] = field(default_factory=list)  # inner-lip gap per frame
    signal: list[float | None] = field(default_factory=list)  # the combined mouth measure
    reason: str = ""  # why there is no curve: "no face"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _face_box(path: str, src: tuple[int, int], start: float, duration: float | None) -> tuple[float, ...] | None:
    """The median face box (x, y, w, h) in display pixels, or None when no face shows."""
    from pipeline.analysis.frames import read_frames
    from stages.check.landmarks import find_faces

    boxes, seen = [], 0
    scale = src[0] / SEARCH_WIDTH

    def look(keyframes: bool) -> None:
        nonlocal seen
        for _, gray in read_frames(path, width=SEARCH_WIDTH, fps=SEARCH_FPS, start=start or None,
                                   duration=duration, gray=True, src_size=src, keyframes=keyframes):
            seen += 1
            found = find_faces(gray)
            if found:
                boxes.append(found[0])

    # a long stretch: its key frames are enough, and cost a fraction of a full decode
    if duration is not None and duration >= KEYFRAME_SEARCH_S:
        look(True)
    if not seen:  # no key frame in the stretch: look at 2 frames a second
        boxes.clear()
        seen = 0
        look(False)
    if not seen or len(boxes) < max(1, FACE_SHARE * seen):
        return None
    return tuple(float(v) * scale for v in np.median(np.array(boxes, np.float64), axis=0))


def _region(box: tuple[float, ...], src: tuple[int, int]) -> tuple[int, int, int]:
    """A square (x, y, side) around the face, inside the frame, even-sized."""
    x, y, w, h = box
    side = int(min(max(w, h) * REGION_SCALE, src[0], src[1])) // 2 * 2
    cx, cy = x + w / 2, y + h / 2
    x0 = int(min(max(cx - side / 2, 0), src[0] - side)) // 2 * 2
    y0 = int(min(max(cy - side / 2, 0), src[1] - side)) // 2 * 2
    return x0, y0, side


def _mouth_measures(xy: np.ndarray) -> tuple[float, float, float]:
    """(inner gap, outer height, nose to lower lip), each over the outer-eye distance."""
    eyes = float(np.linalg.norm(xy[33] - xy[263])) or 1.0
    inner = np.mean([np.linalg.norm(xy[a] - xy[b]) for a, b in ((13, 14), (82, 87), (312, 317), (81, 178), (311, 402))])
    outer = np.linalg.norm(xy[0] - xy[17])
    lower = np.linalg.norm(xy[1] - xy[14])
    return float(inner / eyes), float(outer / eyes), float(lower / eyes)


def mouth_curve(path: str, info: Any, start: float = 0.0, end: float | None = None) -> MouthCurve:
    """The mouth over [start, end) of the file (the middle MAX_WINDOW_S when longer)."""
    from pipeline.analysis.frames import read_frames
    from stages.check.landmarks import MouthTracker

    v = info.v
    src = v.display_size
    fps = float(v.fps)
    stop = float(info.duration) if end is None else end
    if stop - start > MAX_WINDOW_S:
        mid = (start + stop) / 2
        start, stop = mid - MAX_WINDOW_S / 2, mid + MAX_WINDOW_S / 2
    # begin on a frame: frame k of the curve is then exactly at start + k / fps
    v0 = float(v.start_time)
    start = v0 + math.ceil(max(0.0, start - v0) * fps - 1e-6) / fps
    seek = max(0.0, start - 0.25 / fps) if start > v0 + 1e-9 else 0.0
    box = _face_box(path, src, seek, stop - start)
    if box is None:
        return MouthCurve(start, fps, reason="no face")
    x0, y0, side = _region(box, src)
    k = REGION / side
    tracker = MouthTracker(((box[0] - x0) * k, (box[1] - y0) * k, box[2] * k, box[3] * k))
    rows: list[tuple[float, float, float] | None] = []
    for _, rgb in read_frames(path, width=REGION, height=REGION, fps=fps if v.variable_fps else None,
                              start=seek or None, duration=stop - seek, src_size=src, crop=(x0, y0, side, side)):
        _, xy = tracker.step(rgb)
        rows.append(None if xy is None else _mouth_measures(xy))
    found = [r for r in rows if r is not None]
    if len(found) < max(8, 0.5 * len(rows)):
        return MouthCurve(start, fps, reason="no face")
    arr = np.array(found)
    z = (arr - arr.mean(axis=0)) / np.maximum(arr.std(axis=0), 1e-6)
    combined = iter(z.mean(axis=1))
    return MouthCurve(start, fps,
                      opening=[None if r is None else round(r[0], 5) for r in rows],
                      signal=[None if r is None else round(float(next(combined)), 4) for r in rows])


def measure_lips(path: str, info: Any, start: float, end: float, max_lag: float) -> Any:
    """The lips' SyncResult over [start, end) of a file: an offset, or None with a reason
    ("no face", "mouth does not move", "no clear match ...")."""
    from pipeline.analysis.audio import decode_audio
    from stages.check.sync import AUDIO_SR, SyncResult

    mouth = mouth_curve(path, info, start, end)
    if mouth.reason:
        return SyncResult(None, 0.0, feature="lips", reason=mouth.reason, max_lag_s=max_lag)
    if still_mouth(mouth):
        return SyncResult(None, 0.0, feature="lips", reason="mouth does not move", max_lag_s=max_lag)
    a0 = float(info.audio[0].start_time)
    s = mouth.start
    y = decode_audio(path, sample_rate=AUDIO_SR, mono=True, start=s or None,
                     duration=len(mouth.signal) / mouth.fps)
    video_start = max(float(info.v.start_time), s) - max(a0, s)
    sc = lips_score(mouth, y, AUDIO_SR, max_lag, video_start)
    if sc["lag"] is None:
        return SyncResult(None, 0.0, feature="lips", reason="too short to match lips and speech",
                          max_lag_s=max_lag)
    conf = round(calibrated_confidence(sc["score"]), 3)
    if abs(sc["lag"]) >= min(max_lag, sc["seconds"] / 3) - 2 * SPEECH_HOP:
        conf = 0.0  # the best lag is the edge of the search: no peak was found
    res = SyncResult(round(sc["lag"] * 1000, 1), conf, feature="lips", peak_corr=round(sc["r"], 3),
                     max_lag_s=max_lag, audio_env=sc["audio_env"], video_env=sc["video_env"],
                     env_step_s=sc["env_step_s"], corr=sc["corr"], peak_s=round(s + sc["peak_s"], 3))
    if conf < LIPS_MIN_CONFIDENCE:
        res.offset_ms = None
        res.reason = f"no clear match between lips and speech, confidence {conf:.2f}"
    return res


def _filled(values: list[float | None]) -> np.ndarray:
    x = np.array([np.nan if v is None else v for v in values], np.float64)
    bad = np.isnan(x)
    if bad.any() and (~bad).any():
        x[bad] = np.interp(np.flatnonzero(bad), np.flatnonzero(~bad), x[~bad])
    return x


def calibrated_confidence(score: float) -> float:
    """P(unrelated sound scores lower) under the Gumbel law fitted to unrelated pairs."""
    return float(math.exp(-math.exp(-(score - CAL_MU) / CAL_BETA)))


def lips_score(mouth: MouthCurve, audio: np.ndarray, sample_rate: int, max_lag: float,
               video_start: float = 0.0) -> dict[str, Any]:
    """Correlate the mouth with the speech band. `audio` covers the same span as the mouth
    curve; `video_start` is where the curve's first frame sits on the audio's clock (s).
    Returns lag (s, + = sound early), r, score, seconds, the time of the strongest matched
    moment (from the curve's start) and, for the report, both curves and the correlation."""
    step = SPEECH_HOP
    env = band_envelope(audio, sample_rate)
    m = _filled(mouth.signal)
    t_env = np.arange(env.size) * step
    t_m = video_start + np.arange(m.size) / mouth.fps
    grid = np.arange(max(0.0, video_start), min(t_env[-1], t_m[-1]), step)
    if grid.size < 4 * int(1 / step) or not np.isfinite(m).all():
        return {"lag": None, "r": 0.0, "score": 0.0, "seconds": float(grid.size * step)}
    a = np.interp(grid, t_env, env)
    v = np.interp(grid, t_m, m)
    da, dv = changes(a, step), changes(v, step)
    lags = min(int(round(max_lag / step)), grid.size // 3)
    c = lagged_correlation(da, dv, lags)
    i, frac = parabolic_peak(c)
    lag = (i - lags + frac) * step
    seconds = float(grid.size * step)
    k = i - lags  # the strongest moment where sound and mouth change together at this lag
    prod = da[: grid.size - k] * dv[k:] if k >= 0 else da[-k:] * dv[: grid.size + k]
    at = int(np.argmax(prod)) + max(k, 0)
    down = max(1, int(round(0.01 / step)))
    return {"lag": float(lag), "r": float(c[i]), "score": float(c[i] * math.sqrt(seconds)), "seconds": seconds,
            "peak_s": float(grid[min(at, grid.size - 1)] - video_start),
            "audio_env": _unit(a[::down]), "video_env": _unit(v[::down]), "env_step_s": down * step,
            "corr": [round(float(x), 4) for x in c[::down]]}


def _unit(x: np.ndarray) -> list[float]:
    lo, hi = float(np.min(x)), float(np.max(x))
    return [round((float(v) - lo) / (hi - lo), 3) if hi > lo else 0.0 for v in x]


def still_mouth(mouth: MouthCurve) -> bool:
    """True when the inner lips hardly move over the span (a held frame, a closed mouth)."""
    x = _filled(mouth.opening)
    return bool(x.size == 0 or np.percentile(x, 95) - np.percentile(x, 5) < STILL_RANGE)
