"""Test media made on the spot with ffmpeg's lavfi sources (and numpy where needed), and
small user presets to export it with."""

from __future__ import annotations

import json
import shutil
import subprocess
from fractions import Fraction
from pathlib import Path

from pipeline.ffmpeg import ffmpeg_exe


def ffmpeg(*args: str) -> None:
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostdin", "-v", "error", "-y", *args], check=True)


def write_preset(folder: Path, name: str, **fields: str | float) -> Path:
    """Write the user preset `folder`/`name`.toml: 320x180 at most 30 fps, x264 ultrafast,
    with `fields` (crf, audio_bitrate, loudness_lufs...) added or overriding."""
    base: dict[str, str | float] = {"name": name, "description": "test preset", "platform": "test",
                                    "aspect": "16:9", "width": 320, "height": 180, "max_fps": 30,
                                    "x264_preset": "ultrafast"}
    lines = [f"{k} = {json.dumps(v)}" for k, v in {**base, **fields}.items()]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


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


# Names ffmpeg reads as protocols when they are handed to it as they are.
PROTOCOL_NAMES = ("file:z.mp4", "x:y.mp4", "concat:a|b.mp4")
PLAIN_SECONDS = 4.0  # the real clip behind every protocol-like name
PLAIN_FPS = 25
PLAIN_OFFSET_MS = 200.0  # its sound is early by this much
DECOY_SECONDS = 2.0


def protocol_named_clips(folder: Path) -> Path:
    """`folder` holding plain.mp4 (4 s at 25 fps, flashes with their beeps 200 ms early)
    and a copy of it under each of PROTOCOL_NAMES, plus the decoy z.mp4 (2 s, a steady
    louder tone, no flashes): what ffmpeg opens when given `file:z.mp4` as it is."""
    import shutil

    from tests.syncclips import flash_clip

    folder.mkdir(parents=True, exist_ok=True)
    plain = flash_clip(folder / "plain.mp4", PLAIN_FPS, PLAIN_OFFSET_MS / 1000, duration=PLAIN_SECONDS, seed=3)
    for name in PROTOCOL_NAMES:
        shutil.copyfile(plain, folder / name)
    make_clip(folder / "z.mp4", size="160x90", fps=str(PLAIN_FPS), duration=DECOY_SECONDS, audio=True)
    return folder


SAMPLES = Path(__file__).resolve().parents[1] / "samples"


def copy_samples(dest: Path) -> Path:
    """The shipped demo's files copied to `dest`, without what a local demo run left there."""
    shutil.copytree(SAMPLES, dest, ignore=shutil.ignore_patterns("out", "__pycache__"))
    return dest
