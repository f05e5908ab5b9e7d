"""What a shot costs and how long it takes, before it is submitted.

Prices are list prices in USD per second of output, taken from the providers' public
price lists on the date below. They change: set REELFORGE_PRICES to a JSON file to
override any of them, e.g. {"kling-v2-6:pro": 0.07, "sora-2-pro:1792x1024": 0.5}
(keys: "model", "model:mode", "model:WxH", "model:mode:sound").
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass

from pipeline.errors import InputError
from pipeline.providers.base import VideoRequest

PRICES_AS_OF = "2026-11-01"

# OpenAI API pricing (https://openai.com/api/pricing, "Video"): per second, by size.
SORA_PRICES: dict[str, dict[str, float]] = {
    "sora-2": {"720x1280": 0.10, "1280x720": 0.10},
    "sora-2-pro": {"720x1280": 0.30, "1280x720": 0.30, "1024x1792": 0.50, "1792x1024": 0.50},
}

# Kling developer API (https://klingai.com/global/dev/pricing): prepaid units per clip,
# converted to USD per second at the resource-pack rate. Keys are mode, or mode+"+sound".
KLING_PRICES: dict[str, dict[str, float]] = {
    "kling-v1": {"std": 0.028, "pro": 0.098},
    "kling-v1-6": {"std": 0.056, "pro": 0.098},
    "kling-v2-master": {"std": 0.28, "pro": 0.28},
    "kling-v2-1": {"std": 0.056, "pro": 0.098},
    "kling-v2-1-master": {"std": 0.28, "pro": 0.28},
    "kling-v2-5-turbo": {"std": 0.042, "pro": 0.07},
    "kling-v2-6": {"std": 0.042, "pro": 0.07, "pro+sound": 0.14},
}

# Typical wall-clock seconds from submission to a finished clip (queue included).
EXPECTED_SECONDS: dict[str, float] = {
    "sora-2": 120, "sora-2-pro": 300,
    "kling-v1": 150, "kling-v1-6": 180, "kling-v2-master": 360, "kling-v2-1": 200,
    "kling-v2-1-master": 360, "kling-v2-5-turbo": 120, "kling-v2-6": 180,
}


@dataclass(frozen=True)
class Estimate:
    usd: float  # 0 for the local provider
    seconds: float  # expected wall-clock time of the job
    rate: float  # USD per second of output


def _overrides() -> dict[str, float]:
    path = os.environ.get("REELFORGE_PRICES")
    if not path:
        return {}
    try:
        data = json.loads(open(path, encoding="utf-8").read())
        return {str(k): float(v) for k, v in data.items()}
    except (OSError, ValueError, TypeError, AttributeError) as exc:
        raise InputError(f"REELFORGE_PRICES={path}: not a JSON object of prices ({exc.__class__.__name__})") from None


def price_per_second(provider: str, req: VideoRequest) -> float:
    """USD per second of output for this request on this provider."""
    if provider == "local":
        return 0.0
    size = f"{req.width}x{req.height}"
    mode = req.mode or "std"
    keys = [f"{req.model}:{mode}:sound" if req.sound else "", f"{req.model}:{size}",
            f"{req.model}:{mode}", req.model]
    over = _overrides()
    for k in keys:
        if k and k in over:
            return over[k]
    if provider == "sora":
        table = SORA_PRICES.get(req.model, {})
        if size in table:
            return table[size]
    if provider == "kling":
        table = KLING_PRICES.get(req.model, {})
        key = f"{mode}+sound" if req.sound and f"{mode}+sound" in table else mode
        if key in table:
            return table[key]
    raise InputError(f"--model {req.model}: no price known for {provider} at {size} "
                     f"(add it to a REELFORGE_PRICES file)")


def estimate(provider: str, req: VideoRequest) -> Estimate:
    rate = price_per_second(provider, req)
    if provider == "local":
        secs = 2.0 + 1.5 * req.duration
    else:
        secs = EXPECTED_SECONDS.get(req.model, 180.0) * (1.5 if req.duration >= 10 else 1.0)
    return Estimate(usd=round(rate * req.duration, 4), seconds=secs, rate=rate)


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


def fmt_usd(x: float) -> str:
    return f"${x:,.2f}"
