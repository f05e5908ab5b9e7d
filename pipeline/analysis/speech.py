"""Speech signals for matching sound to moving lips: the energy of the band that carries
most of speech's articulation, its syllable-rate changes, and a normalised correlation
over lags. numpy only (scipy's import alone costs most of a second)."""

from __future__ import annotations

import numpy as np

SPEECH_HOP = 0.005  # seconds between envelope values
SPEECH_BAND = (800.0, 3000.0)  # Hz: formants F2/F3, which follow the mouth's opening
FLOOR_DB = 30.0  # below the loudest moment, levels are treated as silence
SYLLABLE_BAND = (0.5, 8.0)  # Hz: the rate at which jaws and lips move in speech


def band_envelope(y: np.ndarray, sample_rate: int, band: tuple[float, float] = SPEECH_BAND,
                  hop: float = SPEECH_HOP, window: float = 0.025) -> np.ndarray:
    """Level (dB) of one frequency band every `hop` seconds, floored FLOOR_DB under its
    peak. Index i is the window centred at i * hop."""
    n_fft = int(round(window * sample_rate))
    step = max(1, int(round(hop * sample_rate)))
    if y.size < n_fft:
        return np.zeros(max(1, y.size // step), np.float32)
    pad = np.pad(y.astype(np.float32), (n_fft // 2, n_fft // 2))
    frames = np.lib.stride_tricks.sliding_window_view(pad, n_fft)[::step]
    freqs = np.fft.rfftfreq(n_fft, 1.0 / sample_rate)
    keep = (freqs >= band[0]) & (freqs <= band[1])
    spec = np.fft.rfft(frames * np.hanning(n_fft).astype(np.float32), axis=1)[:, keep]
    level = 10.0 * np.log10((np.abs(spec) ** 2).sum(axis=1) + 1e-10)
    return np.maximum(level, level.max() - FLOOR_DB).astype(np.float32)


def bandpass(x: np.ndarray, step: float, band: tuple[float, float] = SYLLABLE_BAND) -> np.ndarray:
    """Keep the frequencies of x (sampled every `step` s) inside band; zero mean."""
    x = np.asarray(x, np.float64)
    if x.size < 4:
        return x * 0
    freqs = np.fft.rfftfreq(x.size, step)
    spec = np.fft.rfft(x - x.mean())
    spec[(freqs < band[0]) | (freqs > band[1])] = 0
    return np.fft.irfft(spec, x.size)


def changes(x: np.ndarray, step: float) -> np.ndarray:
    """Syllable-rate changes of a signal: its derivative, band-passed to SYLLABLE_BAND."""
    return bandpass(np.gradient(np.asarray(x, np.float64)), step)


def lagged_correlation(a: np.ndarray, v: np.ndarray, max_lag: int) -> np.ndarray:
    """Pearson-like correlation c[L] = <a[t], v[t+L]> / (|a| |v|) over each lag's overlap,
    for L in -max_lag..max_lag (index 0 is -max_lag)."""
    n = min(len(a), len(v))
    a, v = np.asarray(a[:n], np.float64), np.asarray(v[:n], np.float64)
    out = np.zeros(2 * max_lag + 1)
    for k, lag in enumerate(range(-max_lag, max_lag + 1)):
        aa, vv = (a[: n - lag], v[lag:]) if lag >= 0 else (a[-lag:], v[: n + lag])
        den = np.sqrt(np.dot(aa, aa) * np.dot(vv, vv))
        out[k] = np.dot(aa, vv) / den if den > 0 else 0.0
    return out


def parabolic_peak(c: np.ndarray) -> tuple[int, float]:
    """Index of the maximum and the fractional step (-0.5..0.5) of a parabola through it."""
    i = int(np.argmax(c))
    if 0 < i < len(c) - 1:
        y0, y1, y2 = c[i - 1], c[i], c[i + 1]
        den = y0 - 2 * y1 + y2
        if den < 0:
            return i, float(np.clip(0.5 * (y0 - y2) / den, -0.5, 0.5))
    return i, 0.0
