"""Helpers for the sound tests: small presets, test beds and tones, level meters."""

from __future__ import annotations

import subprocess
from fractions import Fraction
from pathlib import Path

import numpy as np

from pipeline.render.settings import OutputSettings
from pipeline.run.stage import StageContext, get_stage, validate_params
from pipeline.model.timeline import Timeline
from pipeline.ffmpeg import ffmpeg_exe
from tests.media import write_preset

RATE = 48000

def tiny_presets(folder: Path) -> Path:
    """User presets `tiny-14` (-14 LUFS, -1 dBTP) and `tiny-23` (-23 LUFS, -2 dBTP)."""
    for lufs, peak in ((-14.0, -1.0), (-23.0, -2.0)):
        write_preset(folder, f"tiny-{-lufs:.0f}", crf=30, gop_seconds=1.0, audio_bitrate="192k",
                     loudness_lufs=lufs, true_peak_dbtp=peak)
    return folder


def small_settings() -> OutputSettings:
    """Fast render settings with no loudness target."""
    return OutputSettings(width=320, height=180, fps=Fraction(30), x264_preset="ultrafast", crf=30, profile=None)


def apply_stage(stage_name: str, tl: Timeline, base: Path, warnings: list[str] | None = None,
                **raw: object) -> Timeline:
    """Apply a stage in this process with parameters as a pipeline file gives them;
    its warnings are appended to `warnings` (when given), its messages dropped."""
    stage = get_stage(stage_name)
    ctx = StageContext(base_dir=base)
    ctx.info = lambda m: None  # type: ignore[method-assign]
    ctx.warn = warnings.append if warnings is not None else lambda m: None  # type: ignore[method-assign]
    return stage.apply(tl, validate_params(stage, raw, "test"), ctx)


def write_audio(path: Path, samples: np.ndarray, rate: int = RATE, codec: list[str] | None = None) -> Path:
    """Encode float samples ((n,) mono or (n, 2) stereo) with ffmpeg."""
    channels = 1 if samples.ndim == 1 else samples.shape[1]
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-v", "error", "-y", "-f", "f32le", "-ar", str(rate),
                    "-ac", str(channels), "-i", "pipe:0", *(codec or []), str(path)],
                   input=samples.astype(np.float32).tobytes(), check=True)
    return path


def tone(seconds: float, freq: float, level_db: float = -12.0, rate: int = RATE) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (10 ** (level_db / 20) * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def click_bed(seconds: float, bpm: float = 120.0, freq: float = 13000.0, rate: int = RATE) -> np.ndarray:
    """A steady high tone (far above any espeak-ng voice, which is band-limited to
    11 kHz) with a short loud click on every beat: easy to beat-track and to meter."""
    out = tone(seconds, freq, -20.0, rate)
    beat = int(round(60.0 / bpm * rate))
    for s in range(0, out.size, beat):
        n = min(out.size - s, int(0.03 * rate))
        tt = np.arange(n) / rate
        out[s:s + n] += (0.5 * np.exp(-tt * 150) * np.sin(2 * np.pi * 2000 * tt)).astype(np.float32)
    return out


def band_db(samples: np.ndarray, lo: float, hi: float, window: float = 0.05, rate: int = RATE) -> np.ndarray:
    """Level (dB) of the lo..hi Hz band in consecutive windows."""
    if samples.ndim == 2:
        samples = samples.mean(axis=1)
    n = int(window * rate)
    frames = samples[: samples.size // n * n].reshape(-1, n) * np.hanning(n)
    spec = np.abs(np.fft.rfft(frames, axis=1)) ** 2
    freqs = np.fft.rfftfreq(n, 1 / rate)
    band = spec[:, (freqs >= lo) & (freqs <= hi)].sum(axis=1)
    return 10 * np.log10(band + 1e-12)


def onset(samples: np.ndarray, after: float, threshold_db: float = -40.0, rate: int = RATE) -> float:
    """First time (s) after `after` where the signal's 1 ms peak passes threshold_db."""
    if samples.ndim == 2:
        samples = samples.mean(axis=1)
    n = rate // 1000
    s0 = int(after * rate) // n * n
    frames = np.abs(samples[s0: s0 + (samples.size - s0) // n * n]).reshape(-1, n).max(axis=1)
    hits = np.flatnonzero(frames > 10 ** (threshold_db / 20))
    assert hits.size, "no onset found"
    return (s0 + hits[0] * n) / rate


def true_peak_db(samples: np.ndarray, rate: int = RATE) -> float:
    """True peak (dBTP) by 4x polyphase oversampling (scipy), independent of ffmpeg."""
    from scipy.signal import resample_poly

    up = resample_poly(samples.astype(np.float64), 4, 1, axis=0)
    return float(20 * np.log10(np.max(np.abs(up)) + 1e-12))

