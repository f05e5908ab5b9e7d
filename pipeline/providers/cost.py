"""What a shot costs and how long it takes, before it is submitted.

Prices are list prices in USD per second of output, from the model catalog (each with its
date and source). They change: set REELFORGE_PRICES to a JSON file to override any of
them, e.g. {"kling-v2-6:pro": 0.07, "sora-2-pro:1792x1024": 0.5, "fal:veo-3.1": 0.4}
(keys: "model", "model:mode", "model:WxH", "model:mode:sound", each optionally prefixed by
"provider:"). A route without a known price is "price unknown": a budget cannot be checked
against it, so a run with --budget refuses it.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass

from pipeline.errors import InputError
from pipeline.providers.base import VideoRequest


@dataclass(frozen=True)
class Estimate:
    usd: float | None  # 0 for the local provider; None when no price is known
    seconds: float  # expected wall-clock time of the job
    rate: float | None  # USD per second of output
    as_of: str = ""


def _overrides() -> dict[str, float]:
    path = os.environ.get("REELFORGE_PRICES")
    if not path:
        return {}
    try:
        data = json.loads(open(path, encoding="utf-8").read())
        return {str(k): float(v) for k, v in data.items()}
    except (OSError, ValueError, TypeError, AttributeError) as exc:
        raise InputError(f"REELFORGE_PRICES={path}: not a JSON object of prices ({exc.__class__.__name__})") from None


def price_per_second(provider: str, req: VideoRequest) -> tuple[float | None, str]:
    """(USD per second of output for this request on this provider, the price's date);
    None when no price is known."""
    if provider == "local":
        return 0.0, ""
    size = f"{req.width}x{req.height}"
    mode = req.mode or "any"
    keys = [f"{req.model}:{mode}:sound" if req.sound else "", f"{req.model}:{size}",
            f"{req.model}:{mode}", req.model]
    over = _overrides()
    for k in keys:
        for key in (f"{provider}:{k}", k):
            if k and key in over:
                return over[key], "REELFORGE_PRICES"
    spec = _spec(provider, req.model)
    table = spec.prices.get(provider) or {}
    tier = next((t for t, sizes in spec.sizes.items() if (req.width, req.height) in sizes.values()), "any")
    for key in (f"{mode}+sound" if req.sound else "", tier if tier not in spec.modes else "", mode, "any"):
        if key and isinstance(table.get(key), (int, float)):
            return float(table[key]), str(table.get("as_of", ""))
    return None, ""


def _spec(provider: str, model: str):  # noqa: ANN202 - a ModelSpec
    from pipeline.providers.models import get_model, passthrough_model

    return passthrough_model(model) if provider == "sora" else get_model(model)


def estimate(provider: str, req: VideoRequest) -> Estimate:
    rate, as_of = price_per_second(provider, req)
    if provider == "local":
        secs = 2.0 + 1.5 * req.duration
    else:
        secs = _spec(provider, req.model).expected_seconds * (1.5 if req.duration >= 10 else 1.0)
    usd = None if rate is None else round(rate * req.duration, 4)
    return Estimate(usd=usd, seconds=secs, rate=rate, as_of=as_of)


def expected_wall_time(jobs: list[tuple[str, float]], limits: dict[str, int]) -> float:
    """Wall-clock estimate for (provider, seconds) jobs run `limits[provider]` at a time
    (providers run side by side)."""
    by: dict[str, list[float]] = {}
    for provider, secs in jobs:
        by.setdefault(provider, []).append(secs)
    worst = 0.0
    for provider, times in by.items():
        lanes = max(1, limits.get(provider, 1))
        waves = math.ceil(len(times) / lanes)
        worst = max(worst, waves * max(times))
    return worst


def fmt_usd(x: float | None) -> str:
    return "price unknown" if x is None else f"${x:,.2f}"
