"""What the gateway providers (fal's queue, Replicate's predictions) share: the input
built from the catalog's route for the model, images as data URIs, a durable job record
written before polling, polling with retries, the provider's own failure message, and the
download of the finished video (without credentials: it is on a CDN)."""

from __future__ import annotations

import base64
import os
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pipeline.errors import InputError, ProviderError
from pipeline.progress import Reporter
from pipeline.providers.base import JobOptions, VideoRequest
from pipeline.providers.cancel import pause
from pipeline.providers.http import download, json_or_none, make_client, redact, register_secret, request
from pipeline.providers.jobs import JobRecord, close_job, load_job, public_url, save_job
from pipeline.providers.sora import poll_interval


def data_uri(path: str) -> str:
    """A PNG or JPEG file as a data: URI (both gateways take one wherever a file URL goes)."""
    raw = Path(path).read_bytes()
    mime = "image/png" if raw.startswith(b"\x89PNG") else "image/jpeg"
    return f"data:{mime};base64,{base64.b64encode(raw).decode('ascii')}"


def route_input(req: VideoRequest, route: dict[str, Any]) -> dict[str, Any]:
    """The model's input fields for one request, named as the route's schema names them."""
    body: dict[str, Any] = {"prompt": req.prompt}
    form = route.get("duration", "integer")
    body["duration"] = {"string": str(req.duration), "seconds": f"{req.duration}s"}.get(form, req.duration)
    if req.image:
        body[route.get("image_field", "image_url")] = data_uri(req.image)
    else:
        body["aspect_ratio"] = req.aspect
    if req.image_tail:
        body[route["tail_field"]] = data_uri(req.image_tail)
    if route.get("sound_field"):
        body[route["sound_field"]] = bool(req.sound)
    if req.negative_prompt:
        body[route["negative_field"]] = req.negative_prompt
    if req.cfg_scale is not None and route.get("cfg_field"):
        body[route["cfg_field"]] = float(req.cfg_scale)
    if route.get("mode_field") and req.mode:
        body[route["mode_field"]] = (route.get("mode_values") or {}).get(req.mode, req.mode)
    return body


def same_origin(url: str, base: str) -> bool:
    a, b = urlsplit(url), urlsplit(base)
    return (a.scheme, a.netloc) == (b.scheme, b.netloc)


class GatewayProvider:
    """Submit, record, poll, download. Subclasses say how their API spells each step."""

    name = ""
    key_env = ""
    base_env = ""
    default_base = ""
    auth_scheme = "Bearer"  # the word before the key in the Authorization header
    default_poll = 5.0

    def __init__(self) -> None:
        self.key = os.environ.get(self.key_env, "").strip()
        self.base = (os.environ.get(self.base_env) or self.default_base).rstrip("/")

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"{self.auth_scheme} {self.key}", "Content-Type": "application/json"}

    # -- what a subclass provides ---------------------------------------------------------

    def submit(self, client: Any, req: VideoRequest, warn: Any) -> JobRecord:
        raise NotImplementedError

    def status(self, client: Any, rec: JobRecord, warn: Any) -> tuple[str, Any]:
        """("running" | "done" | "failed", the video URL or the failure message)."""
        raise NotImplementedError

    def cancel(self, rec: JobRecord) -> str:
        raise NotImplementedError

    # -- shared -------------------------------------------------------------------------
    def check_key(self) -> None:
        if not self.key:
            raise InputError(f"{self.key_env}: not set (needed by --provider {self.name})")
        register_secret(self.key)

    def fail(self, response: Any, what: str) -> None:
        """Raise the clear error for a refused call: a refused key is bad input naming the
        variable; anything else is the provider's own message."""
        body = json_or_none(response)
        detail = None
        if isinstance(body, dict):
            detail = body.get("detail") or body.get("error") or body.get("message") or body.get("title")
        msg = redact(detail if detail is not None else response.text or response.reason_phrase, 300)
        status = response.status_code
        if status in (401, 403):
            raise InputError(f"{self.key_env}: refused by {public_url(self.base)} (HTTP {status}: {msg})")
        if status in (400, 404, 422):
            raise InputError(f"{self.name}: {what} refused (HTTP {status}): {msg}")
        raise ProviderError(f"{self.name}: {what} failed (HTTP {status}): {msg}")

    def call(self, client: Any, method: str, url: str, what: str, warn: Any, **kw: Any) -> Any:
        r = request(client, method, url, label=f"{self.name}: {what}", on_retry=warn,
                    headers=self.headers(), **kw)
        if r.status_code >= 300:
            self.fail(r, what)
        body = json_or_none(r)
        if not isinstance(body, dict):
            raise ProviderError(f"{self.name}: {what}: the answer is not a JSON object")
        return body

    def generate(self, req: VideoRequest, out: Path, reporter: Reporter,
                 options: JobOptions | None = None) -> dict[str, Any]:
        self.check_key()
        digest = (options.request_digest if options else "") or req.digest(self.name)
        interval = poll_interval(options, self.default_poll)
        with make_client(self.base) as client:
            rec = load_job(self.name, digest)
            if rec is not None and rec.job_id and rec.base_url == public_url(self.base):
                reporter.info(f"{self.name}: resuming request {rec.job_id} (already submitted; not paying twice)")
            else:
                rec = self.submit(client, req, reporter.warn)
                rec.request = digest
                rec.extra.update(options.info if options else {})
                save_job(rec)  # before polling: an interrupted run resumes this request
            url = self._wait(client, rec, interval, reporter, req)
        import httpx

        with httpx.Client(timeout=httpx.Timeout(120.0, connect=15.0), follow_redirects=True) as cdn:
            download(cdn, url, out, label=f"{self.name}: download of {rec.job_id}")
        return {"provider": self.name, "model": req.model, "endpoint": rec.kind, "job_id": rec.job_id,
                "prompt": req.prompt, "duration": req.duration, "aspect": req.aspect, "mode": req.mode,
                "sound": req.sound, "base_url": public_url(self.base)}

    def _wait(self, client: Any, rec: JobRecord, interval: float, reporter: Reporter, req: VideoRequest) -> str:
        from pipeline.providers.models import get_model

        started = time.monotonic()
        expected = get_model(req.model).expected_seconds
        deadline = started + float(os.environ.get("REELFORGE_JOB_TIMEOUT", 3600))
        with reporter.task(f"{self.name} {rec.job_id}", 100) as task:
            while True:
                state, value = self.status(client, rec, reporter.warn)
                if state == "done":
                    task.update(100.0, None)
                    if not isinstance(value, str) or not value.startswith(("http://", "https://")):
                        close_job(rec, "failed")
                        raise ProviderError(f"{self.name}: request {rec.job_id} finished without a video URL")
                    return value
                if state == "failed":
                    close_job(rec, "failed")
                    raise ProviderError(f"{self.name}: request {rec.job_id} failed: "
                                        f"{redact(value or 'no reason given', 300)}")
                elapsed = time.monotonic() - started
                task.update(min(95.0, 100.0 * elapsed / expected), None)
                if time.monotonic() > deadline:
                    raise ProviderError(f"{self.name}: request {rec.job_id} still running after {elapsed:.0f}s; "
                                        "run again to resume it")
                pause(interval)
