"""An ffmpeg that logs every command line it is given, then runs the real one: point
REELFORGE_FFMPEG at `logged_ffmpeg(...)` and read what reelforge started."""

from __future__ import annotations

import stat
from pathlib import Path

from pipeline.ffmpeg import ffmpeg_exe

MEDIA_SUFFIXES = {".mp4", ".mov", ".mkv", ".m4a", ".wav", ".aac", ".jpg", ".png", ".webm"}
# options whose value is a filter graph or other text, never the output file
VALUE_OPTIONS = {"-i", "-filter_complex", "-vf", "-af", "-filter:v", "-filter:a", "-metadata", "-passlogfile"}


def logged_ffmpeg(folder: Path, log: Path) -> Path:
    """An executable that appends its arguments to `log` (one command per line, \\x1f
    between arguments) and then runs the real ffmpeg with them."""
    path = folder / "ffmpeg-logged"
    path.write_text("#!/bin/sh\n"
                    f"printf '%s\\037' \"$@\" >> '{log}'\n"
                    f"printf '\\n' >> '{log}'\n"
                    f"exec '{ffmpeg_exe()}' \"$@\"\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def commands(log: Path) -> list[list[str]]:
    if not log.exists():
        return []
    return [line.rstrip("\x1f").split("\x1f") for line in log.read_text().splitlines() if line]


def written_media(argv: list[str]) -> list[str]:
    """The media files one ffmpeg command line writes (arguments that are no option's
    value and name a media file)."""
    out = []
    for prev, arg in zip(argv, argv[1:]):
        if prev in VALUE_OPTIONS or arg.startswith("-"):
            continue
        if Path(arg).suffix.lower() in MEDIA_SUFFIXES:
            out.append(arg)
    return out


def encodes(log: Path) -> list[list[str]]:
    """The media files written, per command that wrote any."""
    return [w for argv in commands(log) if (w := written_media(argv))]


def video_encoders(log: Path) -> list[str]:
    """Every video encoder started (the value of each -c:v), in order."""
    return [argv[i + 1] for argv in commands(log) for i, a in enumerate(argv[:-1]) if a in ("-c:v", "-vcodec")]
