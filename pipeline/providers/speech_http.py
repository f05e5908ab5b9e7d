"""POST to a speech API over httpx with retries: 429 and 5xx are retried after the
server's Retry-After (or a short backoff), transport errors are retried, a refused key
(401/403) is one clear error. The key is never part of any message."""

from __future__ import annotations

import email.utils
import time
from typing import Any, Callable

from ..errors import ProviderError

MAX_ATTEMPTS = 4
MAX_WAIT_S = 60.0


def retry_after_seconds(value: str | None, fallback: float) -> float:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return fallback
    value = value.strip()
    try:
        return max(0.0, min(float(value), MAX_WAIT_S))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return fallback
    return max(0.0, min(when.timestamp() - time.time(), MAX_WAIT_S))


def _api_message(resp: Any) -> str:
    """The error text an API put in its body, short."""
    try:
        body = resp.json()
    except ValueError:
        return resp.text.strip()[:200]
    if isinstance(body, dict):
        err = body.get("error") or body.get("detail") or body
        if isinstance(err, dict):
            return str(err.get("message") or err.get("status") or err)[:200]
        return str(err)[:200]
    return str(body)[:200]


def post_for_audio(
    url: str,
    headers: dict[str, str],
    body: dict[str, Any],
    what: str,
    key_env: str,
    params: dict[str, str] | None = None,
    timeout: float = 120.0,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[bytes, str]:
    """POST `body` as JSON; returns (audio bytes, content type). Raises ProviderError."""
    import httpx

    last = ""
    with httpx.Client(timeout=timeout) as client:
        for attempt in range(1, MAX_ATTEMPTS + 1):
            backoff = float(2 ** (attempt - 1))
            try:
                resp = client.post(url, headers=headers, json=body, params=params)
            except httpx.TransportError as exc:
                last = f"cannot reach {httpx.URL(url).host} ({exc.__class__.__name__})"
                if attempt < MAX_ATTEMPTS:
                    sleep(backoff)
                    continue
                raise ProviderError(f"{what}: {last}") from None
            if resp.status_code == 200:
                if not resp.content:
                    raise ProviderError(f"{what}: the server returned no audio")
                return resp.content, resp.headers.get("content-type", "")
            if resp.status_code in (401, 403):
                raise ProviderError(f"{what}: the API key was refused (HTTP {resp.status_code}: "
                                    f"{_api_message(resp)}); check {key_env}")
            if resp.status_code == 429 or resp.status_code >= 500:
                last = f"HTTP {resp.status_code}: {_api_message(resp)}"
                if attempt < MAX_ATTEMPTS:
                    sleep(retry_after_seconds(resp.headers.get("retry-after"), backoff))
                    continue
                raise ProviderError(f"{what}: gave up after {MAX_ATTEMPTS} attempts ({last})")
            raise ProviderError(f"{what}: request refused (HTTP {resp.status_code}: {_api_message(resp)})")
    raise ProviderError(f"{what}: {last}")  # pragma: no cover
