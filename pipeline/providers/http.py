"""Shared HTTP plumbing for the remote providers (httpx).

- `request()` retries 408, 429 and 5xx answers and connection errors with exponential
  backoff, honouring `Retry-After` (seconds or an HTTP date); a provider may narrow what
  counts as retryable (a 429 that means "out of credit" must not be retried).
- Secrets are registered with `register_secret()` and `redact()` removes every one of
  them from any text that may reach the user (see redaction.py).
- `download()` streams a response body to a file in chunks.
"""

from __future__ import annotations

import email.utils
import os
import random
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from pipeline.providers.cancel import check as check_cancelled, pause
from pipeline.errors import ProviderError
from pipeline.providers.redaction import redact, register_secret  # noqa: F401 (re-exported)

if TYPE_CHECKING:  # httpx is imported lazily: the CLI must start fast
    import httpx

RETRY_STATUS = frozenset({408, 429, 500, 502, 503, 504})
MAX_ATTEMPTS = 6
BACKOFF_BASE = 1.0  # seconds; doubled per attempt, with jitter
BACKOFF_CAP = 30.0
RETRY_AFTER_CAP = 120.0

def _backoff_base() -> float:
    try:
        return float(os.environ.get("REELFORGE_HTTP_BACKOFF", BACKOFF_BASE))
    except ValueError:
        return BACKOFF_BASE


def retry_after(response: "httpx.Response") -> float | None:
    """Seconds the server asked us to wait (Retry-After, or retry-after-ms), if any."""
    ms = response.headers.get("retry-after-ms")
    if ms:
        try:
            return max(0.0, float(ms) / 1000)
        except ValueError:
            pass
    return parse_retry_after(response.headers.get("retry-after"))


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After value (delta-seconds or an HTTP date); None when the
    value is missing or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def default_retryable(response: "httpx.Response") -> bool:
    return response.status_code in RETRY_STATUS


def make_client(base_url: str, timeout: float = 60.0) -> "httpx.Client":
    """An httpx client for one provider; authentication headers are added per request."""
    import httpx

    return httpx.Client(base_url=base_url, timeout=httpx.Timeout(timeout, connect=15.0),
                        follow_redirects=True, headers={"User-Agent": "reelforge"})


def request(
    client: "httpx.Client",
    method: str,
    url: str,
    *,
    label: str,
    retryable: Callable[["httpx.Response"], bool] = default_retryable,
    on_retry: Callable[[str], None] | None = None,
    sleep: Callable[[float], None] = pause,
    attempts: int = MAX_ATTEMPTS,
    max_wait: float = RETRY_AFTER_CAP,
    **kwargs: Any,
) -> "httpx.Response":
    """Send one request, making at most `attempts` tries and waiting at most `max_wait`
    seconds for a Retry-After. Returns the final response (which may be an error
    response, retryable or not, once the attempts are spent: the caller maps it to a clear
    message). Connection errors that persist become ProviderError; the message never
    contains a secret."""
    import httpx

    attempt = 0
    while True:
        attempt += 1
        check_cancelled()
        try:
            response = client.request(method, url, **kwargs)
        except httpx.TransportError as exc:
            if attempt >= attempts:
                raise ProviderError(redact(f"{label}: cannot reach {client.base_url} "
                                           f"({exc.__class__.__name__}: {exc})")) from None
            wait = backoff_delay(attempt, None)
            if on_retry:
                on_retry(f"{label}: {exc.__class__.__name__}; retrying in {wait:.1f}s")
            sleep(wait)
            continue
        if attempt < attempts and retryable(response):
            wait = backoff_delay(attempt, retry_after(response), max_wait)
            if on_retry:
                on_retry(f"{label}: HTTP {response.status_code}; retrying in {wait:.1f}s")
            response.close()
            sleep(wait)
            continue
        return response


def backoff_delay(attempt: int, hinted: float | None, cap: float = RETRY_AFTER_CAP) -> float:
    """Seconds to wait before retry number `attempt`: the server's hint (at most `cap`),
    else exponential backoff from REELFORGE_HTTP_BACKOFF (default 1 s) with jitter."""
    if hinted is not None:
        return min(hinted, cap)
    base = _backoff_base() * (2 ** (attempt - 1))
    return min(BACKOFF_CAP, base * (0.75 + random.random() * 0.5))


def download(
    client: "httpx.Client",
    url: str,
    dest: Path,
    *,
    label: str,
    headers: dict[str, str] | None = None,
    progress: Callable[[int, int | None], None] | None = None,
) -> int:
    """Stream GET `url` into `dest` (retrying transient failures); returns bytes written."""
    import httpx

    attempt = 0
    while True:
        attempt += 1
        try:
            with client.stream("GET", url, headers=headers or {}) as response:
                if attempt < MAX_ATTEMPTS and default_retryable(response):
                    wait = backoff_delay(attempt, retry_after(response))
                    pause(wait)
                    continue
                if response.status_code != 200:
                    response.read()
                    raise ProviderError(redact(f"{label}: download failed: HTTP {response.status_code} "
                                               f"{redact(response.text, 200)}"))
                total = int(response.headers.get("content-length") or 0) or None
                written = 0
                with open(dest, "wb") as fh:
                    for chunk in response.iter_bytes(1 << 16):
                        check_cancelled()
                        fh.write(chunk)
                        written += len(chunk)
                        if progress:
                            progress(written, total)
                if total is not None and written != total:
                    raise httpx.RemoteProtocolError(f"got {written} of {total} bytes")
                return written
        except httpx.TransportError as exc:
            if attempt >= MAX_ATTEMPTS:
                raise ProviderError(redact(f"{label}: download failed ({exc.__class__.__name__}: {exc})")) from None
            pause(backoff_delay(attempt, None))


def json_or_none(response: "httpx.Response") -> Any:
    try:
        return response.json()
    except ValueError:
        return None
