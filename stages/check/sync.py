"""Audio/video offset measured from content.

Sound events (an onset envelope of the audio: spectral flux) are correlated with picture
events (brightness flashes, cuts and changes of motion, from a tiny decode of every
frame). The lag of the correlation peak, refined between grid points by a parabola, is
the offset. The confidence comes from pairing the individual events at that lag: how
unlikely it is that unrelated events would line up as well, times the share that do.
When nothing in the picture matches the sound, the result is None rather than a
confident wrong number. docs/check.md explains the method and its measured accuracy.

Sign (ITU-R BT.1359): a positive offset means the sound is early (leads the picture).
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass, field
from typing import Any, Iterable, Iterator

import numpy as np

from pipeline.analysis.speech import parabolic_peak
from pipeline.errors import RenderError

AUDIO_SR = 16000
AUDIO_HOP = 64  # 4 ms
AUDIO_LAG = 0.004  # the flux peaks this long before the attack it marks (measured on beeps)
GRID = 0.002  # correlation grid, seconds
ANALYSIS_WIDTH = 160
MAX_LAG = 1.0  # seconds searched either way
MIN_CONFIDENCE = 0.5  # below this the offset is reported as unmeasurable
MIN_EVENTS = 4  # matched events needed before an offset is believed
VERSION = 6


@dataclass
class SyncResult:
    """The measured offset (ms, None when unmeasurable) and what it was measured from."""

    offset_ms: float | None
    confidence: float
    feature: str = ""  # which feature matched: flash, cut, motion, lips
    reason: str = ""
    events_matched: int = 0
    events_compared: int = 0
    peak_corr: float = 0.0
    grid_s: float = GRID
    max_lag_s: float = MAX_LAG
    # For the report: envelopes on the correlation grid (downsampled) and the curve.
    audio_env: list[float] = field(default_factory=list)
    video_env: list[float] = field(default_factory=list)
    env_step_s: float = 0.01
    corr: list[float] = field(default_factory=list)  # correlation over lags, env_step_s apart
    cut_times: list[float] = field(default_factory=list)
    peak_s: float | None = None  # the strongest matched moment, seconds from the file start
    start_s: float = 0.0  # the span measured, seconds from the file start
    end_s: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# ---- picture -----------------------------------------------------------------------------
def gray_frames(path: str, width: int, height: int, threads: int = 0,
                fps: float | None = None) -> Iterator[np.ndarray]:
    """Every frame as a tiny gray image (h, w) uint8, streamed from ffmpeg with fast decode
    flags (pipeline.analysis.frames.read_frames, `fast`). With `fps`, a variable-rate
    source is resampled to that constant rate first, so frame k is at k / fps."""
    from pipeline.analysis.frames import read_frames

    count = 0
    for _, frame in read_frames(path, width=width, height=height, fps=fps, gray=True, fast=True,
                                threads=threads):
        count += 1
        yield frame
    if count == 0:
        raise RenderError(f"{path}: could not decode frames for analysis")


# ---- sound -------------------------------------------------------------------------------
def _decode_audio(path: str) -> np.ndarray:
    from pipeline.analysis.audio import decode_audio

    return decode_audio(path, sample_rate=AUDIO_SR, mono=True)


def audio_onsets(y: np.ndarray) -> np.ndarray:
    """Onset strength per AUDIO_HOP: spectral flux (positive change of log power per
    frequency bin, averaged), with a 16 ms window so an attack is placed within a few ms.

    The same measure as librosa.onset.onset_strength, written with numpy here because
    importing librosa's feature module costs about two seconds, a fifth of the budget
    for checking a minute of 1080p. Index i is the frame centred at i * AUDIO_HOP.
    """
    n_fft = 256
    if y.size < n_fft * 2 or float(np.max(np.abs(y))) < 1e-4:
        return np.zeros(max(1, y.size // AUDIO_HOP), np.float32)
    pad = np.pad(y.astype(np.float32), (n_fft // 2, n_fft // 2))
    frames = np.lib.stride_tricks.sliding_window_view(pad, n_fft)[::AUDIO_HOP]
    power = np.abs(np.fft.rfft(frames * np.hanning(n_fft).astype(np.float32), axis=1)) ** 2
    db = 10.0 * np.log10(np.maximum(power, 1e-10))
    db = np.maximum(db, db.max() - 80.0)
    env = np.zeros(len(db), np.float32)
    env[1:] = np.maximum(db[1:] - db[:-1], 0.0).mean(axis=1)
    return env


# ---- correlation -------------------------------------------------------------------------
def _smooth(x: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian smoothing (numpy only: scipy's import alone costs most of a second)."""
    if sigma <= 0:
        return x
    r = int(4 * sigma + 0.5)
    k = np.exp(-0.5 * (np.arange(-r, r + 1) / sigma) ** 2)
    return np.convolve(x, k / k.sum(), mode="same")


def _on_grid(values: np.ndarray, times: np.ndarray, n: int, step: float) -> np.ndarray:
    """Place impulses at exact times on a grid, splitting each between its two points."""
    out = np.zeros(n, np.float64)
    pos = times / step
    i0 = np.floor(pos).astype(int)
    frac = pos - i0
    ok = (i0 >= 0) & (i0 + 1 < n)
    np.add.at(out, i0[ok], values[ok] * (1 - frac[ok]))
    np.add.at(out, i0[ok] + 1, values[ok] * frac[ok])
    return out


def _xcorr(a: np.ndarray, v: np.ndarray, max_lag: int) -> np.ndarray:
    """Normalised correlation c[L] = sum a[t] v[t+L] for L in -max_lag..max_lag."""
    n = len(a) + len(v)
    size = 1 << int(np.ceil(np.log2(n)))
    fa = np.fft.rfft(a, size)
    fv = np.fft.rfft(v, size)
    full = np.fft.irfft(np.conj(fa) * fv, size)
    c = np.concatenate([full[-max_lag:], full[: max_lag + 1]])
    norm = np.sqrt(np.dot(a, a) * np.dot(v, v))
    return c / norm if norm > 0 else c * 0


def correlate(audio_env: np.ndarray, feats: dict[str, np.ndarray], fps: float,
              max_lag: float = MAX_LAG, video_start: float = 0.0) -> SyncResult:
    """Best offset over the picture features; confidence from the peak's prominence."""
    frame = 1.0 / fps
    dur = max(len(audio_env) * AUDIO_HOP / AUDIO_SR, max(0.0, video_start) + len(next(iter(feats.values()))) * frame)
    n = int(dur / GRID) + 2
    a_times = np.arange(len(audio_env)) * AUDIO_HOP / AUDIO_SR + AUDIO_LAG
    a = np.interp(np.arange(n) * GRID, a_times, audio_env, left=0, right=0)
    a = _spikes_fine(a)
    sigma = 0.35 * frame / GRID
    a = _smooth(a, sigma)
    lag_n = int(round(max_lag / GRID))
    best: SyncResult | None = None
    if not np.any(a > 0):
        return SyncResult(None, 0.0, reason="no sound events")
    for name, feat in feats.items():
        if feat.size < 3 or not np.any(feat > 0):
            continue
        v = _on_grid(feat.astype(np.float64), video_start + np.arange(len(feat)) * frame, n, GRID)
        v = _smooth(v, sigma)
        c = _xcorr(a, v, lag_n)
        i, frac = parabolic_peak(c)
        lag = (i - lag_n + frac) * GRID
        conf, matched, compared = _confidence(a, v, lag, frame, max_lag)
        step = max(1, int(round(0.01 / GRID)))
        res = SyncResult(round(lag * 1000, 1), conf, feature=name, max_lag_s=max_lag,
                         events_matched=matched, events_compared=compared, peak_corr=round(float(c[i]), 3),
                         corr=[round(float(x), 4) for x in c[::step]], env_step_s=step * GRID,
                         audio_env=_down(a, step), video_env=_down(v, step))
        if best is None or res.confidence > best.confidence:
            best = res
    if best is None:
        return SyncResult(None, 0.0, reason="no picture events")
    if best.confidence < MIN_CONFIDENCE:
        best.reason = f"no clear match between sound and picture events, confidence {best.confidence:.2f}"
        best.offset_ms = None
    return best


def _spikes_fine(a: np.ndarray) -> np.ndarray:
    """Onset strength above its running floor (steady texture is not an event)."""
    step = 5  # the floor moves slowly: a median over 250 ms taken every 10 ms is enough
    coarse = a[::step]
    radius = int(0.125 / GRID / step)
    floor = np.median(np.lib.stride_tricks.sliding_window_view(np.pad(coarse, radius, mode="edge"),
                                                               2 * radius + 1), axis=1)
    floor = np.interp(np.arange(len(a)), np.arange(len(coarse)) * step, floor)
    return np.maximum(a - floor, 0.0)


def _down(x: np.ndarray, step: int) -> list[float]:
    m = float(np.max(x)) or 1.0
    return [round(float(v) / m, 3) for v in x[::step]]


def _events(x: np.ndarray, min_gap: float) -> np.ndarray:
    """Times (s) of the clear peaks of a smoothed envelope on the grid."""
    top = float(np.max(x)) if x.size > 2 else 0.0
    if top <= 0:
        return np.zeros(0)
    mid = x[1:-1]
    idx = np.flatnonzero((mid > x[:-2]) & (mid >= x[2:]) & (mid >= 0.2 * top)) + 1
    gap = max(1, int(round(min_gap / GRID)))
    kept: list[int] = []
    for i in idx[np.argsort(-x[idx], kind="stable")]:  # strongest first, neighbours yield
        if all(abs(i - j) >= gap for j in kept):
            kept.append(int(i))
    return np.sort(np.array(kept, dtype=float)) * GRID


def _binom_tail(m: int, n: int, p: float) -> float:
    """P(X >= m) for X ~ Binomial(n, p)."""
    from math import comb

    return float(sum(comb(n, k) * p ** k * (1 - p) ** (n - k) for k in range(max(m, 0), n + 1)))


def _confidence(a: np.ndarray, v: np.ndarray, lag: float, frame: float, max_lag: float) -> tuple[float, int, int]:
    """1 - the chance that unrelated events would line up this well, scaled by the share
    of events that do line up. Returns (confidence, matched events, events compared).

    Events are the peaks of each envelope; at the best lag, a sound event matches a
    picture event within `tol`. By chance an event matches with probability
    p = picture events x 2 tol / duration; the binomial tail of the matches, times the
    number of distinct lags searched, is the false-alarm probability.
    """
    gap = max(0.08, 1.5 * frame)
    ta, tv = _events(a, gap), _events(v, gap)
    na, nv = len(ta), len(tv)
    if na < 2 or nv < 2:
        return 0.0, 0, min(na, nv)
    tol = max(0.6 * frame, 0.02)
    dur = max(len(a), len(v)) * GRID
    shifted = ta + lag
    inside = (shifted >= tv[0] - tol) & (shifted <= tv[-1] + tol)
    d = np.abs(shifted[:, None] - tv[None, :]).min(axis=1)
    m = int(np.sum(d <= tol))
    n = int(max(1, min(int(inside.sum()), nv)))
    p = min(1.0, nv * 2 * tol / dur)
    trials = 2 * max_lag / tol
    p_false = min(1.0, trials * _binom_tail(m, na, p))
    share = min(1.0, m / n)
    conf = (1.0 - p_false) * share if m >= MIN_EVENTS else 0.0
    return round(float(conf), 3), m, n
