"""Video providers: a request and the provider interface (the registry by name is in
pipeline.providers.registry, which imports every provider)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Protocol

from pipeline.errors import InputError
from pipeline.progress import Reporter



# Providers whose clips our own code draws (local: pipeline/providers/local.py), and the
# version of that code's look: part of each of their requests' digests, so a change to how
# the clips look is a new request. Raise it when the look changes.
RENDERER_VERSIONS = {"local": 10}


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
    camera_control: dict[str, Any] | None = None  # kling: {"type": ..., "config": {...}}
    remix_of: str | None = None  # sora: id of a finished video to remix with this prompt

    def digest(self, provider: str) -> str:
        """Content hash of the request (images by content, not by path)."""
        data = asdict(self)
        for key in ("image", "image_tail"):
            if data[key]:
                data[key] = hashlib.sha256(Path(data[key]).read_bytes()).hexdigest()
        if not data["camera_control"]:
            data.pop("camera_control")
        if not data["remix_of"]:
            data.pop("remix_of")
        if provider in RENDERER_VERSIONS:  # a cached clip in an old look is never handed back
            data["renderer"] = RENDERER_VERSIONS[provider]
        blob = json.dumps({"provider": provider, **data}, sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:32]


@dataclass
class JobOptions:
    """How to run one job (not part of the request: changing these costs nothing)."""

    poll_interval: float | None = None  # seconds between status checks (None: provider default)
    request_digest: str = ""  # names the durable job record
    info: dict[str, Any] = field(default_factory=dict)  # shown by `reelforge jobs` (model, usd)


class VideoProvider(Protocol):
    name: str

    def generate(self, req: VideoRequest, out: Path, reporter: Reporter,
                 options: JobOptions | None = None) -> dict[str, Any]:
        """Write the clip to `out` (a temporary path the caller renames); return provenance."""
        ...


def _check_image(path: str | None, option: str) -> None:
    if path is None:
        return
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{option} {path}: no such file")
    head = p.read_bytes()[:16]
    if not (head.startswith(b"\x89PNG") or head.startswith(b"\xff\xd8")):
        raise InputError(f"{option} {path}: not a PNG or JPEG image")


def make_request(
    prompt: str,
    model: str,
    duration: float | None = None,
    aspect: str | None = None,
    sound: bool | None = None,
    size: str | None = None,
    *,
    provider: str | None = "local",
    warn: Callable[[str], None] | None = None,
    **extra: Any,
) -> VideoRequest:
    """Validate a shot against its model in the catalog (and the route of its provider);
    InputError (exit 2) names the option and says what the model supports. Nothing is sent."""
    from pipeline.providers.models import get_model, passthrough_model
    from pipeline.providers.routing import PROVIDERS

    if not prompt or not prompt.strip():
        raise InputError("--prompt: must not be empty")
    provider = provider or "local"
    if provider not in PROVIDERS:
        raise InputError(f"--provider {provider}: unknown provider; use {', '.join(PROVIDERS)}")
    spec = passthrough_model(model) if provider == "sora" else get_model(model)
    if provider not in ("local", "sora"):
        spec.route(provider)
    known = {k: v for k, v in extra.items() if k in VideoRequest.__dataclass_fields__}
    rest = {k: v for k, v in extra.items() if k not in VideoRequest.__dataclass_fields__ and v is not None}
    mode = known.pop("mode", None)
    if mode is None and provider in spec.routes and spec.routes[provider].get("modes"):
        offered = spec.routes[provider]["modes"]
        if spec.default_mode() not in offered:
            mode = offered[0]  # the gateway hosts only this tier (fal's kling endpoints are pro)
    secs, asp, (w, h), snd, mode = spec.check(duration, aspect, sound, size, mode)
    opts = spec.check_options(provider, known, sound=snd, mode=mode, duration=secs, warn=warn)
    _check_image(opts.get("image"), "--image")
    _check_image(opts.get("image_tail"), "--image-tail")
    return VideoRequest(prompt=prompt.strip(), model=model, duration=secs, aspect=asp, width=w,
                        height=h, sound=snd, extra=rest, **opts)
