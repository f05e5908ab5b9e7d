"""Analysis results cached by content hash (of the source bytes and the parameters)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Callable

from pipeline.files import cache_dir, file_digest, write_cache_file  # noqa: F401 - file_digest is re-exported for analysis code

def cached_json(kind: str, parts: dict[str, Any], compute: Callable[[], Any]) -> Any:
    """Return compute() for these parts, from <cache>/analysis/<kind>/<hash>.json if there.

    `parts` should hold file digests (file_digest) rather than paths, plus every parameter.
    """
    blob = json.dumps(parts, sort_keys=True, default=str).encode()
    digest = hashlib.sha256(blob).hexdigest()[:32]
    path = cache_dir("analysis", kind) / f"{digest}.json"
    if path.exists():
        try:
            return json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            pass
    result = compute()
    write_cache_file(path, json.dumps(result))
    return result
