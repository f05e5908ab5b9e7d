"""Make the demo's music bed: 8 seconds (4 bars at 120 bpm) of kick, hats, bass and a
soft chord pad, synthesised with numpy and encoded with ffmpeg. Nothing is downloaded.

    python samples/make_music.py [OUT]          (default: samples/music/bed.m4a)
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np


def synth(seconds: float = 8.0, bpm: float = 120.0, rate: int = 44100, seed: int = 7) -> np.ndarray:
    """Stereo float32 samples, shape (n, 2), peaking near -6 dBFS."""
    rng = np.random.default_rng(seed)
    n = int(seconds * rate)
    t = np.arange(n) / rate
    beat = 60.0 / bpm
    out = np.zeros(n)
    # chord pad: A minor / F / C / G, one chord per bar, slow attack
    chords = [(220.0, 261.63, 329.63), (174.61, 220.0, 261.63), (196.0, 261.63, 329.63), (196.0, 246.94, 293.66)]
    bar = 4 * beat
    for i, chord in enumerate(chords * int(np.ceil(seconds / (bar * len(chords))))):
        s, e = int(i * bar * rate), min(n, int((i + 1) * bar * rate))
        if s >= n:
            break
        tt = t[s:e] - t[s]
        env = np.minimum(1.0, tt / 0.3) * np.minimum(1.0, (bar - tt) / 0.3)
        out[s:e] += 0.06 * env * sum(np.sin(2 * np.pi * f * tt) for f in chord)
        root = chord[0] / 2  # bass on every beat
        for k in range(4):
            bs = s + int(k * beat * rate)
            be = min(e, bs + int(0.9 * beat * rate))
            bt = t[bs:be] - t[bs]
            out[bs:be] += 0.18 * np.exp(-bt * 3.0) * np.sin(2 * np.pi * root * bt)
    for k in range(int(seconds / beat)):
        s = int(k * beat * rate)
        kt = t[s:min(n, s + int(0.25 * rate))] - t[s]  # kick: falling sine
        out[s:s + kt.size] += 0.25 * np.exp(-kt * 18) * np.sin(2 * np.pi * (50 + 90 * np.exp(-kt * 30)) * kt)
        h = s + int(beat / 2 * rate)  # off-beat hat: short noise burst
        if h < n:
            ht = np.arange(min(n - h, int(0.05 * rate))) / rate
            out[h:h + ht.size] += 0.08 * np.exp(-ht * 80) * rng.standard_normal(ht.size)
    out *= 0.5 / max(1e-9, np.max(np.abs(out)))
    pan = 0.1 * np.sin(2 * np.pi * 0.25 * t)
    return np.stack([out * (1 - pan), out * (1 + pan)], axis=1).astype(np.float32)


def write(path: Path, samples: np.ndarray, rate: int = 44100) -> Path:
    """Encode float samples to `path` with ffmpeg (format from the extension)."""
    from pipeline.ffmpeg import ffmpeg_exe

    codec = ["-c:a", "aac", "-b:a", "96k"] if path.suffix in (".m4a", ".mp4", ".aac") else []
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-v", "error", "-y", "-f", "f32le", "-ar", str(rate), "-ac", "2",
                    "-i", "pipe:0", *codec, str(path)], input=samples.tobytes(), check=True)
    return path


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent / "music" / "bed.m4a"
    target.parent.mkdir(parents=True, exist_ok=True)
    write(target, synth())
    print(f"wrote {target}")
