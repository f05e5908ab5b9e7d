"""Analysis results cached by content hash (of the source bytes and the parameters)."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, Callable

from pipeline.files import cache_dir, file_digest  # noqa: F401 - file_digest is re-exported for analysis code

def cached_json(kind: str, parts: dict[str, Any], compute: Callable[[], Any]) -> Any:
    """Return compute() for these parts, from <cache>/analysis/<kind>/<hash>.json if there.

    `parts` should hold file digests (file_digest) rather than paths, plus every parameter.
    """
    blob = json.dumps(parts, sort_keys=True, default=str).encode()
    digest = hashlib.sha256(blob).hexdigest()[:32]
    folder = cache_dir() / "analysis" / kind
    path = folder / f"{digest}.json"
    if path.exists():
        try:
            return json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            pass
    result = compute()
    folder.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    tmp.write_text(json.dumps(result))
    os.replace(tmp, path)
    return result
