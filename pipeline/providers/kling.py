"""The `kling` provider: Kuaishou's Kling API.

    Authorization: Bearer <JWT HS256 signed with KLING_SECRET_KEY; iss = KLING_ACCESS_KEY,
                   exp = now + 30 min, nbf = now - 5 s>
    POST /v1/videos/text2video | /v1/videos/image2video     -> data.task_id
    GET  /v1/videos/{kind}/{task_id | external_task_id}     -> data.task_status:
         submitted | processing | succeed (data.task_result.videos[0].url) | failed
Every answer is an envelope {code, message, request_id, data}; code 0 is success.

Each submission carries an `external_task_id` that is recorded before the request is
sent, so even a crash between sending and hearing back can be resumed by asking the
service for that id.
"""

from __future__ import annotations

import base64
import os
import secrets
import threading
import time
import warnings
from pathlib import Path
from typing import Any

from pipeline.providers.cancel import pause
from pipeline.errors import InputError, ProviderError
from pipeline.progress import Reporter
from pipeline.providers.base import JobOptions, VideoRequest
from pipeline.providers.http import download, json_or_none, make_client, redact, register_secret, request
from pipeline.providers.jobs import JobRecord, close_job, load_job, public_url, save_job
from pipeline.providers.sora import poll_interval

DEFAULT_BASE = "https://api-singapore.klingai.com"
TOKEN_LIFETIME = 1800
MAX_IMAGE_BYTES = 10 * 1024 * 1024
MIN_IMAGE_SIDE = 300

AUTH_CODES = {1000: "authentication failed", 1001: "no Authorization header",
              1002: "invalid Authorization", 1003: "token not yet valid (check the clock)",
              1004: "token expired (check the clock)"}
RETRY_CODES = {1302, 1303, 5000, 5001, 5002}


class KlingApiError(ProviderError):
    def __init__(self, message: str, code: int | None) -> None:
        super().__init__(message)
        self.code = code


def _code(response: Any) -> int | None:
    body = json_or_none(response)
    if isinstance(body, dict):
        try:
            return int(body.get("code"))
        except (TypeError, ValueError):
            return None
    return None


def image_base64(path: str, option: str) -> str:
    """Raw base64 (no data: prefix) of a JPEG/PNG Kling accepts: at least 300 px a side
    and at most 10 MB; smaller or larger images are scaled and re-encoded."""
    raw = Path(path).read_bytes()
    import cv2
    import numpy as np

    img = cv2.imdecode(np.frombuffer(raw, np.uint8), cv2.IMREAD_COLOR)
    if img is None:
        raise InputError(f"{option} {path}: cannot decode the image")
    h, w = img.shape[:2]
    ratio = w / h
    if not 0.4 <= ratio <= 2.5:
        raise InputError(f"{option} {path}: aspect ratio {w}:{h} is outside Kling's 1:2.5 to 2.5:1")
    if min(w, h) < MIN_IMAGE_SIDE:
        scale = MIN_IMAGE_SIDE / min(w, h)
        img = cv2.resize(img, (max(MIN_IMAGE_SIDE, round(w * scale)), max(MIN_IMAGE_SIDE, round(h * scale))),
                         interpolation=cv2.INTER_CUBIC)
        ok, buf = cv2.imencode(".png", img)
        raw = buf.tobytes()
    if len(raw) > MAX_IMAGE_BYTES:
        ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 92])
        raw = buf.tobytes()
    return base64.b64encode(raw).decode("ascii")


class KlingProvider:
    """Submit, poll and download through the Kling API; jobs survive interruption."""

    name = "kling"

    def __init__(self) -> None:
        self.access = os.environ.get("KLING_ACCESS_KEY", "").strip()
        self.secret = os.environ.get("KLING_SECRET_KEY", "").strip()
        self.base = (os.environ.get("KLING_API_BASE") or DEFAULT_BASE).rstrip("/")
        self._token: tuple[str, float] | None = None
        self._lock = threading.Lock()

    def token(self) -> str:
        """A JWT valid for 30 minutes, renewed when it has less than 5 minutes left."""
        import jwt

        with self._lock:
            now = time.time()
            if self._token is None or self._token[1] - now < 300:
                payload = {"iss": self.access, "exp": int(now) + TOKEN_LIFETIME, "nbf": int(now) - 5}
                with warnings.catch_warnings():  # PyJWT warns about short HMAC keys; the key is Kling's
                    warnings.simplefilter("ignore")
                    tok = jwt.encode(payload, self.secret, algorithm="HS256", headers={"typ": "JWT"})
                register_secret(tok)
                self._token = (tok, now + TOKEN_LIFETIME)
            return self._token[0]

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token()}", "Content-Type": "application/json"}

    @staticmethod
    def _retryable(response: Any) -> bool:
        status = response.status_code
        if status in (408, 500, 502, 503, 504):
            return True
        if status == 429:
            code = _code(response)
            return code is None or code in RETRY_CODES
        return False

    def _fail(self, response: Any, what: str) -> None:
        body = json_or_none(response)
        code = _code(response)
        msg = redact((body or {}).get("message") if isinstance(body, dict) else response.text, 300)
        rid = redact((body or {}).get("request_id"), 80) if isinstance(body, dict) else None
        tail = f" (code {code}: {msg}{'; request ' + str(rid) if rid else ''})"
        if code in AUTH_CODES or (code is None and response.status_code == 401):
            reason = AUTH_CODES.get(code or 1000)
            raise InputError(f"KLING_ACCESS_KEY/KLING_SECRET_KEY: {reason} at {self.base}{tail}")
        if code in (1100, 1101, 1102):
            raise KlingApiError(f"kling: the account cannot pay for this job: no balance left in its "
                                f"resource pack or the account is in arrears{tail}", code)
        if code == 1103:
            raise InputError(f"--model: this Kling account has no access to the requested model or "
                             f"feature{tail}")
        if code in (1300, 1301):
            raise InputError(f"--prompt: refused by Kling's content safety check{tail}")
        if code == 1302:
            raise KlingApiError(f"kling: rate limit: requests too fast; retried and gave up{tail}", code)
        if code == 1303:
            raise KlingApiError(f"kling: the account's concurrent-task limit is reached; lower the "
                                f"kling concurrency (REELFORGE_KLING_CONCURRENCY){tail}", code)
        if code == 1304:
            raise KlingApiError(f"kling: refused by the account's IP whitelist policy{tail}", code)
        if code in (1200, 1201) or response.status_code == 400:
            raise InputError(f"kling: {what} refused as invalid{tail}")
        raise KlingApiError(f"kling: {what} failed (HTTP {response.status_code}){tail}", code)

    def _call(self, client: Any, method: str, url: str, what: str, warn: Any, **kw: Any) -> dict[str, Any]:
        """One API call; returns `data` of a code-0 envelope or raises a clear error."""
        r = request(client, method, url, label=f"kling: {what}", retryable=self._retryable,
                    on_retry=warn, headers=self._headers(), **kw)
        body = json_or_none(r)
        if r.status_code != 200 or not isinstance(body, dict) or body.get("code") != 0:
            self._fail(r, what)
        data = body.get("data")
        if not isinstance(data, dict):
            raise ProviderError(f"kling: {what}: answer without data")
        return data

    def body(self, req: VideoRequest, external_id: str) -> tuple[str, dict[str, Any]]:
        """(kind, JSON body) for the submission."""
        from pipeline.providers.models import get_model

        kind = "image2video" if req.image else "text2video"
        body: dict[str, Any] = {"model_name": req.model, "prompt": req.prompt,
                                "duration": str(req.duration), "mode": req.mode or "std",
                                "external_task_id": external_id}
        if req.negative_prompt:
            body["negative_prompt"] = req.negative_prompt
        if req.cfg_scale is not None:
            body["cfg_scale"] = float(req.cfg_scale)
        if req.camera_control:
            body["camera_control"] = req.camera_control
        if get_model(req.model).sound != "never":
            body["sound"] = "on" if req.sound else "off"
        if kind == "text2video":
            body["aspect_ratio"] = req.aspect
        else:
            body["image"] = image_base64(req.image, "--image")  # type: ignore[arg-type]
            if req.image_tail:
                body["image_tail"] = image_base64(req.image_tail, "--image-tail")
        return kind, body

    def generate(self, req: VideoRequest, out: Path, reporter: Reporter,
                 options: JobOptions | None = None) -> dict[str, Any]:
        if not self.access or not self.secret:
            missing = "KLING_ACCESS_KEY" if not self.access else "KLING_SECRET_KEY"
            raise InputError(f"{missing}: not set (needed by --provider kling)")
        register_secret(self.access)
        register_secret(self.secret)
        digest = (options.request_digest if options else "") or req.digest(self.name)
        interval = poll_interval(options)
        warn = reporter.warn
        with make_client(self.base) as client:
            rec = load_job(self.name, digest)
            if rec is not None and rec.base_url != public_url(self.base):
                rec = None
            if rec is not None and rec.job_id:
                reporter.info(f"kling: resuming task {rec.job_id} (already submitted; not paying twice)")
            elif rec is not None and rec.external_id:
                # Recorded but never acknowledged: ask whether the service got it.
                found = self._find(client, rec.kind, rec.external_id)
                if found:
                    rec.job_id, rec.status = found, "submitted"
                    save_job(rec)
                    reporter.info(f"kling: resuming task {found} (already submitted; not paying twice)")
                else:
                    rec = self._submit(client, req, rec, warn, interval)
            else:
                ext = f"rf-{digest[:20]}-{secrets.token_hex(4)}"
                kind = "image2video" if req.image else "text2video"
                rec = JobRecord(provider=self.name, request=digest, base_url=self.base, kind=kind,
                                external_id=ext, status="pending")
                save_job(rec)
                rec = self._submit(client, req, rec, warn, interval)
            data = self._poll(client, rec, interval, reporter, req)
            videos = ((data.get("task_result") or {}).get("videos")) or []
            if not videos or not videos[0].get("url"):
                close_job(rec, "failed")
                raise ProviderError(f"kling: task {rec.job_id} succeeded without a video URL")
        # The video URL is on a CDN: no Authorization header goes there.
        import httpx

        with httpx.Client(timeout=httpx.Timeout(120.0, connect=15.0), follow_redirects=True) as cdn:
            download(cdn, videos[0]["url"], out, label=f"kling: download of {rec.job_id}")
        return {"provider": self.name, "model": req.model, "job_id": rec.job_id, "kind": rec.kind,
                "prompt": req.prompt, "duration": req.duration, "mode": req.mode or "std",
                "aspect": req.aspect, "sound": req.sound, "base_url": public_url(self.base)}

    def _find(self, client: Any, kind: str, external_id: str) -> str | None:
        r = request(client, "GET", f"/v1/videos/{kind}/{external_id}", label="kling: lookup",
                    retryable=self._retryable, headers=self._headers())
        body = json_or_none(r)
        if r.status_code == 200 and isinstance(body, dict) and body.get("code") == 0:
            data = body.get("data") or {}
            return str(data.get("task_id")) if data.get("task_id") else None
        if r.status_code == 404 or _code(r) == 1203:
            return None
        self._fail(r, "lookup")
        return None

    def _submit(self, client: Any, req: VideoRequest, rec: JobRecord, warn: Any,
                interval: float = 10.0) -> JobRecord:
        kind, body = self.body(req, rec.external_id or "")
        # The account's concurrent-task limit (1303) frees up as other tasks finish, which
        # takes minutes: keep trying for a while (other programs may share the account).
        patience = time.monotonic() + float(os.environ.get("REELFORGE_KLING_SLOT_WAIT", 1800))
        told = False
        while True:
            try:
                data = self._call(client, "POST", f"/v1/videos/{kind}", "submission", warn, json=body)
                break
            except KlingApiError as exc:
                if exc.code != 1303 or time.monotonic() > patience:
                    close_job(rec, "failed")  # answered with a refusal: no task was created
                    raise
            except InputError:
                close_job(rec, "failed")
                raise
                if not told:
                    warn("kling: the account's concurrent-task limit is reached; waiting for a free slot")
                    told = True
                pause(max(interval, 0.05))
        if not data.get("task_id"):
            raise ProviderError("kling: the submission was answered without a task_id")
        rec.job_id, rec.kind, rec.status = str(data["task_id"]), kind, "submitted"
        save_job(rec)
        return rec

    def _poll(self, client: Any, rec: JobRecord, interval: float, reporter: Reporter,
              req: VideoRequest) -> dict[str, Any]:
        from pipeline.providers.cost import EXPECTED_SECONDS

        started = time.monotonic()
        expected = EXPECTED_SECONDS.get(req.model, 180.0)
        deadline = started + float(os.environ.get("REELFORGE_JOB_TIMEOUT", 3600))
        with reporter.task(f"kling {rec.job_id}", 100) as task:
            while True:
                data = self._call(client, "GET", f"/v1/videos/{rec.kind}/{rec.job_id}", "status",
                                  reporter.warn)
                status = data.get("task_status")
                if status == "succeed":
                    task.update(100.0, None)
                    return data
                if status == "failed":
                    close_job(rec, "failed")
                    msg = redact(data.get("task_status_msg") or "no reason given")
                    raise ProviderError(f"kling: task {rec.job_id} failed: {msg}")
                if status not in ("submitted", "processing"):
                    raise ProviderError(f"kling: task {rec.job_id}: unexpected status {status!r}")
                elapsed = time.monotonic() - started
                task.update(min(95.0, 100.0 * elapsed / expected), None)
                if time.monotonic() > deadline:
                    raise ProviderError(f"kling: task {rec.job_id} still {status} after {elapsed:.0f}s; "
                                        "run again to resume it")
                pause(interval)
