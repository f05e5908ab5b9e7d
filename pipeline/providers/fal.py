"""The `fal` provider: fal's queue API (https://docs.fal.ai/documentation/model-apis/inference/queue).

    POST {FAL_QUEUE_URL}/{endpoint id}            input JSON; Authorization: Key $FAL_KEY
         -> {request_id, status_url, response_url, cancel_url}
    GET  status_url                               -> {status: IN_QUEUE | IN_PROGRESS | COMPLETED}
    GET  response_url                             -> the model's output: {"video": {"url": ...}}
    PUT  cancel_url                               -> cancels a request still in the queue

The returned URLs are followed only on the queue's own origin (the key goes with them);
otherwise the documented paths {endpoint}/requests/{id}/status and /requests/{id} are used.
A failed request is reported by status FAILED or an `error` in the status or response.
"""

from __future__ import annotations

from typing import Any

from pipeline.errors import ProviderError
from pipeline.providers.base import VideoRequest
from pipeline.providers.gateway import GatewayProvider, route_input, same_origin
from pipeline.providers.http import json_or_none, make_client, request
from pipeline.providers.jobs import JobRecord, public_url


class FalProvider(GatewayProvider):
    name = "fal"
    key_env = "FAL_KEY"
    base_env = "FAL_QUEUE_URL"
    default_base = "https://queue.fal.run"
    auth_scheme = "Key"  # https://docs.fal.ai/documentation/model-apis/authentication

    def _url(self, rec: JobRecord, key: str, path: str) -> str:
        given = rec.extra.get(key)
        if isinstance(given, str) and same_origin(given, self.base):
            return given
        app = "/".join(rec.kind.split("/")[:2])  # status and result live under the app id
        return f"{self.base}/{app}/requests/{rec.job_id}{path}"

    def submit(self, client: Any, req: VideoRequest, warn: Any) -> JobRecord:
        from pipeline.providers.models import get_model

        route = get_model(req.model).route("fal")
        endpoint = route["image2video" if req.image else "text2video"]
        body = self.call(client, "POST", f"/{endpoint}", "submission", warn, json=route_input(req, route))
        rid = body.get("request_id")
        if not rid:
            raise ProviderError("fal: the submission was answered without a request_id")
        extra = {k: body[k] for k in ("status_url", "response_url", "cancel_url") if isinstance(body.get(k), str)}
        return JobRecord(provider=self.name, request="", job_id=str(rid), base_url=public_url(self.base),
                         kind=endpoint, status="submitted", extra=extra)

    def status(self, client: Any, rec: JobRecord, warn: Any) -> tuple[str, Any]:
        body = self.call(client, "GET", self._url(rec, "status_url", "/status"), "status", warn)
        status = body.get("status")
        if status == "FAILED" or body.get("error"):
            return "failed", body.get("error") or body.get("detail") or "FAILED"
        if status in ("IN_QUEUE", "IN_PROGRESS"):
            return "running", None
        if status != "COMPLETED":
            raise ProviderError(f"fal: request {rec.job_id}: unexpected status {status!r}")
        r = request(client, "GET", self._url(rec, "response_url", ""), label="fal: result", on_retry=warn,
                    headers=self.headers())
        result = json_or_none(r)
        if r.status_code >= 400:
            detail = result.get("detail") if isinstance(result, dict) else None
            if r.status_code in (401, 403):
                self.fail(r, "result")
            return "failed", detail or f"HTTP {r.status_code}"
        video = (result or {}).get("video") if isinstance(result, dict) else None
        return "done", video.get("url") if isinstance(video, dict) else None

    def cancel(self, rec: JobRecord) -> str:
        self.check_key()
        with make_client(self.base) as client:
            r = request(client, "PUT", self._url(rec, "cancel_url", "/cancel"), label="fal: cancel",
                        headers=self.headers())
        body = json_or_none(r) or {}
        if r.status_code in (200, 202):
            return str(body.get("status") or "CANCELLATION_REQUESTED")
        if r.status_code == 400:
            return str(body.get("status") or "could not be cancelled")
        self.fail(r, "cancel")
        return ""
