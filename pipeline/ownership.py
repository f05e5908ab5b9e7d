"""Which files reelforge wrote. An existing file at an output path is replaced without
--overwrite only when reelforge wrote it and nobody has changed it since: re-running a
command or a pipeline refreshes its own outputs, but a file the user owns (or edited)
is never lost."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path


def _record(path: Path) -> Path:
    from .tools import cache_dir

    key = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:32]
    return cache_dir() / "written" / f"{key}.json"


def record_written(path: str | os.PathLike[str]) -> None:
    """Remember that reelforge wrote `path` with its current content."""
    from .analysis.cache import file_digest

    p = Path(path)
    try:
        st = p.stat()
        rec = _record(p)
        rec.parent.mkdir(parents=True, exist_ok=True)
        rec.write_text(json.dumps({"path": str(p.resolve()), "size": st.st_size,
                                   "mtime_ns": st.st_mtime_ns, "digest": file_digest(p)}))
    except OSError:
        pass  # an unwritable cache only costs the convenience, never a user's file


def written_by_us(path: str | os.PathLike[str]) -> bool:
    """True when reelforge wrote `path` and its content is unchanged since."""
    from .analysis.cache import file_digest

    p = Path(path)
    try:
        data = json.loads(_record(p).read_text())
        st = p.stat()
    except (OSError, ValueError):
        return False
    if st.st_size != data.get("size"):
        return False
    if st.st_mtime_ns == data.get("mtime_ns"):
        return True
    return file_digest(p) == data.get("digest")
