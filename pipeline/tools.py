"""Locating external binaries and the user's folders (DESIGN.md contracts)."""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from pathlib import Path

from .errors import InputError, RenderError


@functools.lru_cache(maxsize=None)
def ffmpeg_exe() -> str:
    """REELFORGE_FFMPEG if set, else imageio-ffmpeg's binary, else `ffmpeg` on PATH."""
    env = os.environ.get("REELFORGE_FFMPEG")
    if env:
        if not (Path(env).is_file() and os.access(env, os.X_OK)):
            raise InputError(f"REELFORGE_FFMPEG={env}: not an executable file")
        return env
    try:
        import imageio_ffmpeg

        exe = imageio_ffmpeg.get_ffmpeg_exe()
        if exe and Path(exe).is_file():
            return exe
    except Exception:  # pragma: no cover - package missing or no binary for this platform
        pass
    found = shutil.which("ffmpeg")
    if found:
        return found
    raise RenderError("ffmpeg not found: set REELFORGE_FFMPEG, or pip install imageio-ffmpeg")


@functools.lru_cache(maxsize=None)
def ffmpeg_version() -> str:
    out = subprocess.run([ffmpeg_exe(), "-hide_banner", "-version"], capture_output=True, text=True)
    first = (out.stdout or "").splitlines()[:1]
    return first[0] if first else "unknown"


@functools.lru_cache(maxsize=None)
def ffmpeg_capabilities() -> tuple[frozenset[str], frozenset[str]]:
    """(encoders, filters) the located ffmpeg offers."""
    exe = ffmpeg_exe()

    def names(kind: str, col: int) -> frozenset[str]:
        out = subprocess.run([exe, "-hide_banner", f"-{kind}"], capture_output=True, text=True).stdout
        result = set()
        for line in out.splitlines():
            parts = line.split()
            if len(parts) > col and not line.startswith(" ="):
                result.add(parts[col])
        return frozenset(result)

    return names("encoders", 1), names("filters", 1)


def cache_dir() -> Path:
    """REELFORGE_CACHE if set, else the platform's user cache dir."""
    env = os.environ.get("REELFORGE_CACHE")
    if env:
        path = Path(env)
    else:
        import platformdirs

        path = Path(platformdirs.user_cache_dir("reelforge"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def user_presets_dir() -> Path:
    """REELFORGE_PRESETS if set, else <user config dir>/presets."""
    env = os.environ.get("REELFORGE_PRESETS")
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_config_dir("reelforge")) / "presets"


def read_text_file(path: Path, where: str) -> str:
    """The UTF-8 text of a user's file; InputError starting with `where` (the option or
    file to name) when it is missing or unreadable."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{where}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{where}: cannot read ({exc.__class__.__name__})") from None
