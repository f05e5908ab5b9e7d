"""The driver's end of a row that ran on another node: check and write what it sent.

Each file comes with the digest of what the node wrote and, for a video, what the node's
probe saw after its verification passed. The driver writes the bytes to a temporary file
beside the target, checks the digest and probes it again, and only then renames it into
place; any mismatch fails the row and leaves nothing at the target."""

from __future__ import annotations

import contextlib
import hashlib
import os
from pathlib import Path
from typing import Any

from pipeline.errors import RenderError


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _check(path: Path, record: dict[str, Any]) -> None:
    from pipeline.run.executors.raynode import _probe_facts, _sha256

    if _sha256(path) != record["sha256"]:
        raise RenderError(f"{record['path']}: the file received differs from the one the node wrote")
    if record.get("probe") is not None:
        seen = _probe_facts(path)
        if seen != record["probe"]:
            raise RenderError(f"{record['path']}: probed here as {seen}, on the node as {record['probe']}")


def receive(files: list[dict[str, Any]], shared: bool, overwrite: bool) -> list[str]:
    """Check every file a row sent and write them all at their paths (every one checked
    before the first is renamed into place); returns the paths written. With a shared
    filesystem the node wrote them in place: they are checked there."""
    from pipeline.files import check_output_path, check_writable, partial_path, record_written

    if shared:
        for record in files:
            _check(Path(record["path"]), record)
        return [record["path"] for record in files]
    temps: list[tuple[Path, Path]] = []
    try:
        for record in files:
            target = Path(record["path"])
            data = record["data"]
            if _digest(data) != record["sha256"]:
                raise RenderError(f"{target}: the bytes received differ from the ones the node wrote")
            check_output_path(target, (), overwrite, label="output")
            check_writable(target)
            tmp = partial_path(target)
            temps.append((tmp, target))
            tmp.write_bytes(data)
            _check(tmp, record)
        for tmp, target in temps:
            os.replace(tmp, target)
            record_written(target)
    except BaseException:
        for tmp, _ in temps:
            with contextlib.suppress(OSError):
                tmp.unlink()
        raise
    return [str(target) for _, target in temps]
