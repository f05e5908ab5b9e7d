"""The `replicate` provider: Replicate's predictions API (https://replicate.com/docs/reference/http).

    POST {REPLICATE_BASE_URL}/models/{owner}/{name}/predictions   {"input": {...}}
         Authorization: Bearer $REPLICATE_API_TOKEN   -> the prediction {id, status, urls}
    GET  /predictions/{id}          status starting | processing | succeeded (output: the
                                    video's URL, or a list of them) | failed (error) | canceled
    POST /predictions/{id}/cancel
"""

from __future__ import annotations

from typing import Any

from pipeline.errors import ProviderError
from pipeline.providers.base import VideoRequest
from pipeline.providers.gateway import GatewayProvider, route_input
from pipeline.providers.http import json_or_none, make_client, request
from pipeline.providers.jobs import JobRecord, public_url


class ReplicateProvider(GatewayProvider):
    name = "replicate"
    key_env = "REPLICATE_API_TOKEN"
    base_env = "REPLICATE_BASE_URL"
    default_base = "https://api.replicate.com/v1"
    auth_scheme = "Bearer"  # https://replicate.com/docs/reference/http

    def submit(self, client: Any, req: VideoRequest, warn: Any) -> JobRecord:
        from pipeline.providers.models import get_model

        route = get_model(req.model).route("replicate")
        model = route["model"]
        body = self.call(client, "POST", f"/models/{model}/predictions", "submission", warn,
                         json={"input": route_input(req, route)})
        if not body.get("id"):
            raise ProviderError("replicate: the submission was answered without a prediction id")
        return JobRecord(provider=self.name, request="", job_id=str(body["id"]), base_url=public_url(self.base),
                         kind=model, status="submitted")

    def status(self, client: Any, rec: JobRecord, warn: Any) -> tuple[str, Any]:
        body = self.call(client, "GET", f"/predictions/{rec.job_id}", "status", warn)
        status = body.get("status")
        if status == "succeeded":
            out = body.get("output")
            if isinstance(out, list):
                out = out[0] if out else None
            return "done", out
        if status in ("failed", "canceled"):
            return "failed", body.get("error") or status
        if status in ("starting", "processing"):
            return "running", None
        raise ProviderError(f"replicate: prediction {rec.job_id}: unexpected status {status!r}")

    def cancel(self, rec: JobRecord) -> str:
        self.check_key()
        with make_client(self.base) as client:
            r = request(client, "POST", f"/predictions/{rec.job_id}/cancel", label="replicate: cancel",
                        headers=self.headers())
        if r.status_code >= 300:
            self.fail(r, "cancel")
        body = json_or_none(r) or {}
        return str(body.get("status") or "canceled")
