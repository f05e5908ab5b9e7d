"""The `sora` provider: OpenAI's Videos API, or any service that speaks the same protocol.

    POST {base}/videos               JSON {model, prompt, seconds, size}; multipart/form-data
                                     with an `input_reference` image file for the first frame
    POST {base}/videos/{id}/remix    JSON {prompt}
    GET  {base}/videos/{id}          status queued | in_progress | completed | failed, progress %
    GET  {base}/videos/{id}/content  the MP4

OpenAI shut its own Sora API down on 2026-09-24; OPENAI_BASE_URL points this provider at a
compatible service. The `openai-poll-after-ms` header, when sent, sets the next poll.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from pipeline.providers.cancel import pause
from pipeline.errors import InputError, ProviderError
from pipeline.progress import Reporter
from pipeline.providers.base import JobOptions, VideoRequest
from pipeline.providers.http import download, json_or_none, make_client, redact, register_secret, request
from pipeline.providers.jobs import JobRecord, close_job, load_job, public_url, save_job

DEFAULT_BASE = "https://api.openai.com/v1"
DEFAULT_POLL = 10.0
JOB_TIMEOUT = 3600.0


def poll_interval(options: JobOptions | None, default: float = DEFAULT_POLL) -> float:
    if options and options.poll_interval is not None:
        return max(0.01, options.poll_interval)
    try:
        return float(os.environ.get("REELFORGE_POLL_INTERVAL", default))
    except ValueError:
        return default


def fitted_image(path: str, width: int, height: int) -> tuple[bytes, str, str]:
    """The image as (bytes, filename, mime), scaled and centre-cropped to exactly
    width x height (Sora requires the reference to match the video's size)."""
    import cv2
    import numpy as np

    raw = Path(path).read_bytes()
    img = cv2.imdecode(np.frombuffer(raw, np.uint8), cv2.IMREAD_COLOR)
    if img is None:
        raise InputError(f"--image {path}: cannot decode the image")
    h, w = img.shape[:2]
    if (w, h) == (width, height):
        mime = "image/png" if raw.startswith(b"\x89PNG") else "image/jpeg"
        return raw, "reference.png" if mime == "image/png" else "reference.jpg", mime
    scale = max(width / w, height / h)
    nw, nh = max(width, round(w * scale)), max(height, round(h * scale))
    img = cv2.resize(img, (nw, nh), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)
    x, y = (nw - width) // 2, (nh - height) // 2
    ok, buf = cv2.imencode(".png", img[y:y + height, x:x + width])
    assert ok
    return buf.tobytes(), "reference.png", "image/png"


class SoraProvider:
    """Submit, poll and download through the Videos API; jobs survive interruption."""

    name = "sora"

    def __init__(self) -> None:
        self.key = os.environ.get("OPENAI_API_KEY", "").strip()
        self.base = (os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE).rstrip("/")

    # -- errors -----------------------------------------------------------------------
    def _fail(self, response: Any, what: str) -> None:
        """Raise a clear error for a non-2xx answer."""
        body = json_or_none(response) or {}
        err = body.get("error") if isinstance(body, dict) else None
        msg = (err.get("message") if isinstance(err, dict) else None) or response.text or response.reason_phrase
        code = err.get("code") if isinstance(err, dict) else None
        status = response.status_code
        msg = redact(msg, 300)
        if status in (401, 403):
            raise InputError(f"OPENAI_API_KEY: rejected by {self.base} (HTTP {status}: {msg})")
        if status == 429 and code in ("insufficient_quota", "billing_hard_limit_reached"):
            raise ProviderError(f"sora: out of credit at {self.base}: {msg}")
        if status in (400, 422):
            raise InputError(f"sora: {what} refused (HTTP {status}): {msg}")
        raise ProviderError(f"sora: {what} failed (HTTP {status}): {msg}")

    @staticmethod
    def _retryable(response: Any) -> bool:
        if response.status_code == 429:
            body = json_or_none(response) or {}
            err = body.get("error") if isinstance(body, dict) else None
            code = err.get("code") if isinstance(err, dict) else None
            return code not in ("insufficient_quota", "billing_hard_limit_reached")
        return response.status_code in (408, 500, 502, 503, 504)

    # -- the job ----------------------------------------------------------------------
    def _submit(self, client: Any, req: VideoRequest, headers: dict[str, str], warn: Any) -> dict[str, Any]:
        size = f"{req.width}x{req.height}"
        if req.remix_of:
            r = request(client, "POST", f"/videos/{req.remix_of}/remix", label="sora: remix",
                        retryable=self._retryable, on_retry=warn, headers=headers,
                        json={"prompt": req.prompt})
        elif req.image:
            data, fname, mime = fitted_image(req.image, req.width, req.height)
            fields = {"model": req.model, "prompt": req.prompt, "seconds": str(req.duration), "size": size}
            r = request(client, "POST", "/videos", label="sora: submit", retryable=self._retryable,
                        on_retry=warn, headers=headers, data=fields,
                        files={"input_reference": (fname, data, mime)})
        else:
            r = request(client, "POST", "/videos", label="sora: submit", retryable=self._retryable,
                        on_retry=warn, headers=headers,
                        json={"model": req.model, "prompt": req.prompt, "seconds": str(req.duration),
                              "size": size})
        if r.status_code not in (200, 201, 202):
            self._fail(r, "submission")
        video = json_or_none(r)
        if not isinstance(video, dict) or not video.get("id"):
            raise ProviderError(f"sora: {self.base} answered the submission without a video id")
        return video

    def generate(self, req: VideoRequest, out: Path, reporter: Reporter,
                 options: JobOptions | None = None) -> dict[str, Any]:
        if not self.key:
            raise InputError("OPENAI_API_KEY: not set (needed by --provider sora)")
        register_secret(self.key)
        digest = (options.request_digest if options else "") or req.digest(self.name)
        headers = {"Authorization": f"Bearer {self.key}"}
        interval = poll_interval(options)
        with make_client(self.base) as client:
            rec = load_job(self.name, digest)
            if rec is not None and rec.job_id and rec.base_url == public_url(self.base):
                reporter.info(f"sora: resuming job {rec.job_id} (already submitted; not paying twice)")
            else:
                video = self._submit(client, req, headers, reporter.warn)
                rec = JobRecord(provider=self.name, request=digest, job_id=str(video["id"]),
                                base_url=self.base, kind="remix" if req.remix_of else "videos",
                                status="submitted")
                save_job(rec)
            video_id = rec.job_id
            assert video_id
            video = self._poll(client, video_id, headers, interval, reporter, rec)
            r_label = f"sora: download of {video_id}"
            download(client, f"/videos/{video_id}/content", out, label=r_label, headers=headers)
        return {"provider": self.name, "model": video.get("model", req.model), "job_id": video_id,
                "prompt": req.prompt, "duration": req.duration, "size": [req.width, req.height],
                "remix_of": req.remix_of, "base_url": public_url(self.base)}

    def _poll(self, client: Any, video_id: str, headers: dict[str, str], interval: float,
              reporter: Reporter, rec: JobRecord) -> dict[str, Any]:
        started = time.monotonic()
        deadline = started + float(os.environ.get("REELFORGE_JOB_TIMEOUT", JOB_TIMEOUT))
        with reporter.task(f"sora {video_id}", 100) as task:
            while True:
                r = request(client, "GET", f"/videos/{video_id}", label="sora: status",
                            retryable=self._retryable, on_retry=reporter.warn, headers=headers)
                if r.status_code == 404:
                    close_job(rec, "failed")
                    raise ProviderError(f"sora: job {video_id} is unknown to {self.base} (expired?); "
                                        "run again to submit it anew")
                if r.status_code != 200:
                    self._fail(r, f"status of {video_id}")
                video = json_or_none(r) or {}
                status = video.get("status")
                progress = video.get("progress") or 0
                task.update(float(progress), None)
                if status == "completed":
                    task.update(100.0, None)
                    return video
                if status == "failed":
                    close_job(rec, "failed")
                    err = video.get("error") or {}
                    msg = redact(err.get("message") or err.get("code") or "no reason given")
                    raise ProviderError(f"sora: job {video_id} failed: {msg}")
                if status not in ("queued", "in_progress"):
                    raise ProviderError(f"sora: job {video_id}: unexpected status {status!r}")
                if time.monotonic() > deadline:
                    raise ProviderError(f"sora: job {video_id} still {status} after "
                                        f"{time.monotonic() - started:.0f}s; run again to resume it")
                hint = r.headers.get("openai-poll-after-ms")
                wait = interval
                if hint:
                    try:
                        wait = max(0.0, float(hint) / 1000)
                    except ValueError:
                        pass
                pause(wait)
