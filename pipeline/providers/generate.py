"""Generate a clip through a provider: cached by request hash, written atomically."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from ..atomic import atomic_output
from ..errors import ProviderError
from ..progress import Reporter, default_reporter
from ..tools import cache_dir
from .base import VideoRequest, get_provider


def generated_dir() -> Path:
    d = cache_dir() / "generated"
    d.mkdir(parents=True, exist_ok=True)
    return d


def generate_clip(
    req: VideoRequest, provider_name: str, reporter: Reporter | None = None, use_cache: bool = True
) -> tuple[Path, dict[str, Any]]:
    """Return (path of the clip in the cache, provenance). A repeated request costs nothing."""
    reporter = reporter or default_reporter()
    digest = req.digest(provider_name)
    target = generated_dir() / f"{digest}.mp4"
    meta_path = target.with_suffix(".json")
    if use_cache and target.exists() and meta_path.exists():
        return target, json.loads(meta_path.read_text())
    provider = get_provider(provider_name)
    with atomic_output(target) as tmp:
        provenance = provider.generate(req, tmp, reporter)
        from ..media import probe

        try:
            probe(tmp)
        except Exception as exc:  # noqa: BLE001
            raise ProviderError(f"{provider_name}: the delivered clip is not readable media ({exc})") from None
    provenance = {**provenance, "request": digest}
    meta_path.write_text(json.dumps(provenance, indent=2))
    return target, provenance


def copy_to(src: Path, dest: Path) -> Path:
    with atomic_output(dest) as tmp:
        shutil.copyfile(src, tmp)
    return dest
