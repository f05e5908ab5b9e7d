"""Video providers: a request, the provider interface, and the registry by name."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

from ..errors import InputError
from ..progress import Reporter


@dataclass(frozen=True)
class VideoRequest:
    """One shot to generate, validated against its model."""

    prompt: str
    model: str = "sora-2"
    duration: int = 4
    aspect: str = "16:9"
    width: int = 1280
    height: int = 720
    sound: bool = False
    seed: int | None = None
    negative_prompt: str | None = None
    cfg_scale: float | None = None
    mode: str | None = None
    image: str | None = None  # path of a first-frame image
    image_tail: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def digest(self, provider: str) -> str:
        """Content hash of the request (images by content, not by path)."""
        data = asdict(self)
        for key in ("image", "image_tail"):
            if data[key]:
                data[key] = hashlib.sha256(Path(data[key]).read_bytes()).hexdigest()
        blob = json.dumps({"provider": provider, **data}, sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:32]


class VideoProvider(Protocol):
    name: str

    def generate(self, req: VideoRequest, out: Path, reporter: Reporter) -> dict[str, Any]:
        """Write the clip to `out` (a temporary path the caller renames); return provenance."""
        ...


def make_request(
    prompt: str,
    model: str,
    duration: float | None = None,
    aspect: str | None = None,
    sound: bool | None = None,
    size: str | None = None,
    **extra: Any,
) -> VideoRequest:
    from .models import get_model

    if not prompt or not prompt.strip():
        raise InputError("--prompt: must not be empty")
    spec = get_model(model)
    secs, asp, (w, h), snd = spec.check(duration, aspect, sound, size)
    known = {k: v for k, v in extra.items() if k in VideoRequest.__dataclass_fields__}
    rest = {k: v for k, v in extra.items() if k not in VideoRequest.__dataclass_fields__ and v is not None}
    return VideoRequest(prompt=prompt.strip(), model=model, duration=secs, aspect=asp, width=w,
                        height=h, sound=snd, extra=rest, **known)


def get_provider(name: str) -> VideoProvider:
    if name == "local":
        from .local import LocalVideoProvider

        return LocalVideoProvider()
    if name == "sora":
        try:
            from .sora import SoraProvider
        except ImportError:
            raise InputError("--provider sora: not available in this build") from None
        return SoraProvider()
    if name == "kling":
        try:
            from .kling import KlingProvider
        except ImportError:
            raise InputError("--provider kling: not available in this build") from None
        return KlingProvider()
    raise InputError(f"--provider {name}: unknown provider; use local, sora or kling")
