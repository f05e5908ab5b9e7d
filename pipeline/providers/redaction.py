"""Keys never reach the user's screen, logs, caches or reports.

Every credential reelforge reads from the environment, every token it mints (a Kling JWT
and each of its dot-separated segments) and anything shaped like a key (`sk-…`, a JWT) is
replaced by '***' in any text that leaves a provider: error messages, progress labels,
provenance, job records. Text that is shortened is redacted after it is cut (and a key
cut in half at the end is removed too), so no piece of a key survives a truncation.
"""

from __future__ import annotations

import os
import re
import threading
from typing import Any

MASK = "***"
# The environment variables that hold credentials (DESIGN.md, "Contracts").
KEY_VARS = ("OPENAI_API_KEY", "KLING_ACCESS_KEY", "KLING_SECRET_KEY", "FAL_KEY", "REPLICATE_API_TOKEN",
            "ELEVENLABS_API_KEY")
MIN_SECRET = 6  # shorter strings are too common to be recognised as a key
MIN_PIECE = 4  # the shortest tail of a cut-off key that is still removed
_SHAPES = re.compile(
    r"eyJ[A-Za-z0-9_-]{6,}\.[A-Za-z0-9_-]{6,}\.[A-Za-z0-9_-]{6,}"  # a JWT
    r"|\b(?:sk|rk|pk)-[A-Za-z0-9_-]{12,}"  # OpenAI-style keys
    r"|\br8_[A-Za-z0-9]{20,}")  # Replicate tokens

_SECRETS: set[str] = set()
_LOCK = threading.Lock()


def register_secret(value: str | None) -> None:
    """Remember a secret; a JWT is remembered whole and segment by segment."""
    if not value:
        return
    value = value.strip()
    parts = [value]
    if value.count(".") == 2:
        parts += value.split(".")
    if ":" in value:  # fal keys are "id:secret"
        parts += value.split(":")
    with _LOCK:
        for p in parts:
            if len(p) >= MIN_SECRET:
                _SECRETS.add(p)


def _known() -> list[str]:
    for var in KEY_VARS:
        value = os.environ.get(var)
        if value and value.strip() not in _SECRETS:
            register_secret(value)
    with _LOCK:
        return sorted(_SECRETS, key=len, reverse=True)


def redact(text: Any, limit: int | None = None) -> str:
    """`text` as a string with every known secret and key-shaped string masked; with
    `limit`, shortened to about that many characters and masked again after the cut."""
    s = _mask(str(text))
    if limit is not None and len(s) > limit:
        s = _mask(s[:limit]) + "…"
    return s


def _mask(s: str) -> str:
    secrets = _known()
    for secret in secrets:
        if secret in s:
            s = s.replace(secret, MASK)
    s = _SHAPES.sub(MASK, s)
    # A key cut off at the end (by a server's own truncation, or ours) leaves a prefix.
    for secret in secrets:
        for n in range(len(secret) - 1, MIN_PIECE - 1, -1):
            if s.endswith(secret[:n]):
                s = s[:-n] + MASK
                break
    return s


def scrub(value: Any) -> Any:
    """A copy of a JSON-like value (dicts, lists, strings) with every string redacted,
    keys included: what is written to a cache, a record or a report."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {redact(k) if isinstance(k, str) else k: scrub(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [scrub(v) for v in value]
    return value
