"""Test media made on the spot with ffmpeg's lavfi sources (and numpy where needed)."""

from __future__ import annotations

import subprocess
from fractions import Fraction
from pathlib import Path

from pipeline.tools import ffmpeg_exe


def ffmpeg(*args: str) -> None:
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostdin", "-v", "error", "-y", *args], check=True)


def make_clip(
    path: Path,
    size: str = "320x180",
    fps: str = "30",
    duration: float = 2.0,
    audio: bool = False,
    tone: float = 440.0,
    pattern: str = "testsrc2",
    pix_fmt: str = "yuv420p",
    rotation: int | None = None,
    codec: str = "libx264",
    sample_rate: int = 48000,
    color: str | None = None,
) -> Path:
    """A clip of exactly round(duration * fps) frames; optional sine tone of `duration`."""
    src = f"color=c={color}:s={size}:r={fps}:d={duration}" if color else f"{pattern}=s={size}:r={fps}:d={duration}"
    args = ["-f", "lavfi", "-i", src]
    if audio:
        args += ["-f", "lavfi", "-i", f"sine=f={tone}:r={sample_rate}:d={duration}"]
    args += ["-c:v", codec, "-pix_fmt", pix_fmt]
    if codec == "libx264":
        args += ["-preset", "ultrafast"]
    if audio:
        args += ["-c:a", "aac", "-ac", "2"]
    path = Path(path)
    if rotation is None:
        ffmpeg(*args, str(path))
    else:
        tmp = path.with_name("unrotated-" + path.name)
        ffmpeg(*args, str(tmp))
        ffmpeg("-display_rotation:v:0", str(rotation), "-i", str(tmp), "-c", "copy", str(path))
        tmp.unlink()
    return path


def frames_of(path: Path) -> int:
    """Exact count of decoded video frames."""
    import av

    with av.open(str(path)) as c:
        return sum(1 for _ in c.decode(video=0))


def stream_durations(path: Path) -> tuple[Fraction, Fraction | None]:
    """(video duration from frame count / rate, audio duration from decoded samples)."""
    import av

    with av.open(str(path)) as c:
        v = c.streams.video[0]
        rate = Fraction(v.average_rate.numerator, v.average_rate.denominator)
        n = sum(1 for _ in c.decode(video=0))
    vdur = Fraction(n) / rate
    with av.open(str(path)) as c:
        if not c.streams.audio:
            return vdur, None
        a = c.streams.audio[0]
        sr = a.rate
        samples = sum(f.samples for f in c.decode(audio=0))
    return vdur, Fraction(samples, sr)
