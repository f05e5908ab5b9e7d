"""Files reelforge writes and the folders it uses: cache and config folders, atomic
outputs (temporary file in the same folder, then rename), and the record of which files
reelforge wrote, so a re-run refreshes its own outputs but never replaces a user's file."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
from pathlib import Path
from typing import Callable, Iterable, Iterator

from pipeline.errors import InputError

VIDEO_EXTENSIONS = (".mp4", ".mov", ".mkv", ".m4v")  # the containers reelforge renders into


def is_video_path(path: str | os.PathLike[str]) -> bool:
    """Whether `path` names a video file reelforge can render (by its extension)."""
    return Path(path).suffix.lower() in VIDEO_EXTENSIONS


def cache_root() -> Path:
    """REELFORGE_CACHE if set, else the platform's user cache dir (not created here)."""
    env = os.environ.get("REELFORGE_CACHE")
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_cache_dir("reelforge"))


def cache_error(exc: OSError) -> InputError:
    """Bad input naming the cache folder (and REELFORGE_CACHE when that chose it)."""
    how = "REELFORGE_CACHE " if os.environ.get("REELFORGE_CACHE") else "cache folder "
    reason = exc.strerror or exc.__class__.__name__
    return InputError(f"{how}{cache_root()}: cannot use it as the cache folder ({reason})")


def in_cache(exc: OSError) -> bool:
    """True when the failed operation was on a path inside the cache folder."""
    root = cache_root().absolute()
    for name in (exc.filename, exc.filename2):
        if name is None:
            continue
        p = Path(os.fsdecode(name)).absolute()
        if p == root or root in p.parents:
            return True
    return False


def cache_dir(*parts: str) -> Path:
    """The cache folder (or a folder inside it), created if missing. InputError naming the
    cache folder when it cannot be: REELFORGE_CACHE is a file, lies below a file, or is
    not writable."""
    path = cache_root().joinpath(*parts)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise cache_error(exc) from None
    return path


def write_cache_file(path: Path, data: str | bytes, durable: bool = False) -> None:
    """Write a cache entry atomically (a temporary sibling, then rename). On any failure
    (read-only or full disk) nothing is left behind and the error names the cache folder."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    blob = data.encode("utf-8") if isinstance(data, str) else data
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as fh:
            fh.write(blob)
            if durable:
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise cache_error(exc) from None


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


def check_file_name(name: str, where: str) -> str:
    """`name` when it is a plain file name (no folder part, not '.' or '..'), else an
    InputError starting with `where`: names given to reelforge never reach outside the
    output folder."""
    text = str(name)
    if (not text.strip() or text in (".", "..") or "/" in text or "\\" in text or "\0" in text
            or len(text.encode("utf-8", "surrogateescape")) > 200):
        raise InputError(f"{where} {text!r}: must be a file name without a folder (no '/', '\\' or '..')")
    return text


def check_output_path(target: str | os.PathLike[str], reads: Iterable[str | os.PathLike[str]] = (),
                      overwrite: bool = False, label: str = "-o") -> Path:
    """The output policy every writer follows: never a file the work reads (not even with
    --overwrite), never a folder, and never an existing file reelforge did not write (or
    that was changed since) unless `overwrite`. Errors start with `label` and the path."""
    out = Path(target)
    resolved = out.resolve()
    for r in reads:
        if Path(r).resolve() == resolved:
            raise InputError(f"{label} {out}: is also an input; choose another output name")
    if out.is_dir():
        raise InputError(f"{label} {out}: is a folder; give a file name")
    if out.exists() and not overwrite and not written_by_us(out):
        raise InputError(f"{label} {out}: already exists (use --overwrite to replace it)")
    return out


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
def atomic_output(target: str | os.PathLike[str],
                  before_rename: Callable[[Path], None] | None = None) -> Iterator[Path]:
    """Yield a temporary path; on success it replaces `target`, on any failure it is removed.
    `before_rename` finishes the temporary file first (e.g. signs it), so the target only
    ever holds the finished file."""
    target = Path(target)
    if target.is_dir():
        raise InputError(f"{target}: is a folder; give a file name")
    check_writable(target)
    tmp = partial_path(target)
    try:
        yield tmp
        if not tmp.exists():
            raise FileNotFoundError(str(tmp))
        if before_rename is not None:
            before_rename(tmp)
        os.replace(tmp, target)
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


# Which files reelforge wrote. An existing file at an output path is replaced without
# --overwrite only when reelforge wrote it and nobody has changed it since.

def _record(path: Path) -> Path:
    key = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:32]
    return cache_dir() / "written" / f"{key}.json"


def record_written(path: str | os.PathLike[str]) -> None:
    """Remember that reelforge wrote `path` with its current content."""
    p = Path(path)
    try:
        st = p.stat()
        rec = _record(p)
        rec.parent.mkdir(parents=True, exist_ok=True)
        rec.write_text(json.dumps({"path": str(p.resolve()), "size": st.st_size,
                                   "mtime_ns": st.st_mtime_ns, "digest": file_digest(p)}))
    except (OSError, InputError):
        pass  # an unwritable cache only costs the convenience, never a user's file


def written_by_us(path: str | os.PathLike[str]) -> bool:
    """True when reelforge wrote `path` and its content is unchanged since."""
    p = Path(path)
    try:
        data = json.loads(_record(p).read_text())
        st = p.stat()
    except (OSError, ValueError, InputError):
        return False
    if st.st_size != data.get("size"):
        return False
    if st.st_mtime_ns == data.get("mtime_ns"):
        return True
    return file_digest(p) == data.get("digest")


_CHUNK = 1 << 20


def file_digest(path: str | os.PathLike[str]) -> str:
    """sha256 of a file's content, memoised by path, size, modification and change time and
    inode: in this process, and for files of a megabyte or more in the cache, so an
    unchanged run does not read every source again (the change time cannot be set back,
    so an edited file is always read anew)."""
    p = Path(path)
    st = p.stat()
    key = (str(p.resolve()), st.st_size, st.st_mtime_ns)
    if key in _DIGESTS:
        return _DIGESTS[key]
    stamp = [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]
    record = _digest_record(key[0]) if st.st_size >= _REMEMBER_FROM else None
    if record is not None:
        with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
            data = json.loads(record.read_text())
            if data["path"] == key[0] and data["stamp"] == stamp:
                _DIGESTS[key] = str(data["digest"])
                return _DIGESTS[key]
    h = hashlib.sha256()
    with open(p, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            h.update(chunk)
    _DIGESTS[key] = h.hexdigest()
    if record is not None:
        with contextlib.suppress(OSError, InputError):
            write_cache_file(record, json.dumps({"path": key[0], "stamp": stamp, "digest": _DIGESTS[key]}))
    return _DIGESTS[key]


_REMEMBER_FROM = 1 << 20  # bytes: smaller files are quicker to read than a record


def _digest_record(resolved: str) -> Path | None:
    try:
        return cache_dir("digests") / f"{hashlib.sha256(resolved.encode()).hexdigest()[:32]}.json"
    except InputError:
        return None  # an unusable cache only costs the memo


_DIGESTS: dict[tuple[str, int, int], str] = {}
