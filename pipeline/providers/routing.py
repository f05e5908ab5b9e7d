"""Which provider renders a shot. A shot names a model and, optionally, a provider;
without one the first provider in the user's order whose credentials are set and which
offers the model is used (REELFORGE_PROVIDERS, default kling,fal,replicate,sora), and
with none of them the offline `local` stand-in renders the model's shape."""

from __future__ import annotations

import os

from pipeline.errors import InputError

PROVIDERS = ("local", "kling", "fal", "replicate", "sora")
DEFAULT_ORDER = ("kling", "fal", "replicate", "sora")
# The environment a provider needs (DESIGN.md, "Contracts"). Sora's own endpoint is gone:
# only a service named by REELFORGE_SORA_BASE_URL counts.
CREDENTIALS = {"kling": ("KLING_ACCESS_KEY", "KLING_SECRET_KEY"), "fal": ("FAL_KEY",),
               "replicate": ("REPLICATE_API_TOKEN",), "sora": ("OPENAI_API_KEY", "REELFORGE_SORA_BASE_URL")}


def provider_order() -> list[str]:
    """The remote providers to try, in the user's order (REELFORGE_PROVIDERS)."""
    env = os.environ.get("REELFORGE_PROVIDERS")
    if not env:
        return list(DEFAULT_ORDER)
    order = [p.strip() for p in env.split(",") if p.strip()]
    for p in order:
        if p not in PROVIDERS:
            raise InputError(f"REELFORGE_PROVIDERS={env}: unknown provider {p!r}; use {', '.join(PROVIDERS)}")
    return order


def has_credentials(provider: str) -> bool:
    return provider == "local" or all(os.environ.get(v, "").strip() for v in CREDENTIALS.get(provider, ("-",)))


def choose_provider(model: str, provider: str | None = None) -> str:
    """The provider that renders `model`: the one named, else the first in the order with
    credentials that offers it, else local."""
    from pipeline.providers.models import get_model

    if provider:
        return provider
    spec = get_model(model)
    for name in provider_order():
        if name == "local":
            return "local"
        if name in spec.routes and has_credentials(name):
            return name
    return "local"
