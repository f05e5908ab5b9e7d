"""Atomic outputs: write to a temporary file in the target's folder, then rename."""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path
from typing import Iterator

from .errors import InputError


def partial_path(target: Path) -> Path:
    """A hidden sibling with the same extension (ffmpeg picks the muxer from it)."""
    token = secrets.token_hex(4)
    return target.with_name(f".{target.stem}.partial-{token}{target.suffix}")


def ensure_parent(target: Path) -> None:
    parent = target.parent
    if parent.exists() and not parent.is_dir():
        raise InputError(f"{parent}: is not a folder")
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"{parent}: cannot create output folder ({exc.strerror})") from None


def check_writable(target: Path) -> None:
    """InputError naming `target` unless a file can be created beside it (its folder is
    made if missing): found out before any work, not after an hour of encoding."""
    target = Path(target)
    ensure_parent(target)
    probe = partial_path(target)
    try:
        with open(probe, "xb"):
            pass
        probe.unlink()
    except OSError as exc:
        raise InputError(f"{target}: cannot write there ({exc.strerror or exc.__class__.__name__})") from None


@contextlib.contextmanager
def atomic_output(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path; on success it replaces `target`, on any failure it is removed."""
    target = Path(target)
    if target.is_dir():
        raise InputError(f"{target}: is a folder; give a file name")
    check_writable(target)
    tmp = partial_path(target)
    try:
        yield tmp
        if not tmp.exists():
            raise FileNotFoundError(str(tmp))
        os.replace(tmp, target)
        from .ownership import record_written

        record_written(target)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def atomic_write_text(target: Path, text: str) -> Path:
    with atomic_output(target) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return target


def atomic_write_bytes(target: Path, data: bytes) -> Path:
    with atomic_output(target) as tmp:
        tmp.write_bytes(data)
    return target
