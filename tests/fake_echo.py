"""Hostile servers: wrappers around the fake provider APIs that echo the caller's
credentials back in every field a client might show or store (ids, statuses, request ids,
messages, error bodies), to prove that none of it reaches output, logs, caches or reports."""

from __future__ import annotations

import re
from typing import Any

from tests.fake_kling import FakeKling
from tests.fake_sora import FakeSora

_ID_FIELDS = ("task_id", "id", "request_id")
_TEXT_FIELDS = ("message", "task_status_msg", "model")
_SUFFIX = re.compile(r"~[^/?]*")


def credentials_in(headers: dict[str, str], extra: list[str]) -> str:
    """What this request carried: the whole Authorization value, its token, the token's
    segments, and anything the server itself knows (its configured keys)."""
    auth = headers.get("authorization", "")
    token = auth.removeprefix("Bearer ").removeprefix("Key ")
    parts = [auth, token, *token.split("."), *extra]
    try:
        import jwt

        iss = jwt.decode(token, options={"verify_signature": False}).get("iss")
        if iss:
            parts.append(str(iss))
    except Exception:  # noqa: BLE001 - not a JWT
        pass
    return " ".join(p for p in parts if p)


def _echo(value: Any, echo: str, echo_status: bool) -> Any:
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            v = _echo(v, echo, echo_status)
            if k in _ID_FIELDS and isinstance(v, (str, int)) and v != "":
                v = f"{v}~{echo.replace(' ', '.')}"  # still one path segment
            elif k in _TEXT_FIELDS and isinstance(v, str):
                v = f"{v} {echo}"
            elif k in ("task_status", "status") and echo_status and isinstance(v, str):
                v = f"{v} {echo}"
            out[k] = v
        return out
    if isinstance(value, list):
        return [_echo(v, echo, echo_status) for v in value]
    return value


class _Echoing:
    echo_status = False
    known: list[str]

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], Any]:
        echo = credentials_in(headers, self.known)
        status, hdrs, out = super().handle(method, _SUFFIX.sub("", path), headers, body)  # type: ignore[misc]
        if isinstance(out, dict):
            out = _echo(out, echo, self.echo_status)
        elif isinstance(out, (bytes, str)) and status >= 400:
            out = f"{out!s} {echo}"
        return status, hdrs, out


class EchoKling(_Echoing, FakeKling):
    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.known = [self.access, self.secret]


class EchoSora(_Echoing, FakeSora):
    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.known = [self.key]
