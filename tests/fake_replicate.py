"""A test double of Replicate's predictions API, written from its reference
(https://replicate.com/docs/reference/http):

    POST /v1/models/{owner}/{name}/predictions   {"input": {...}}; Authorization: Bearer <token>
         -> 201 the prediction {id, model, status: starting, urls: {get, cancel}, ...}
    GET  /v1/predictions/{id}        status starting | processing | succeeded | failed | canceled;
                                     output: the video URL once succeeded; error once failed
    POST /v1/predictions/{id}/cancel
Errors are problem documents {title, detail, status}; a bad input is 422 "Input validation
failed". Each model's input schema is cited by MODELS.
"""

from __future__ import annotations

import base64
import json
import secrets
from pathlib import Path
from typing import Any

from tests.fake_http import FakeServer

_ASPECTS = {"16:9", "9:16", "1:1"}
MODELS: dict[str, dict[str, Any]] = {
    # https://replicate.com/kwaivgi/kling-v2.5-turbo-pro/api
    "kwaivgi/kling-v2.5-turbo-pro": {"prompt": str, "negative_prompt": str, "start_image": "image",
                                     "aspect_ratio": _ASPECTS, "duration": {5, 10}},
    # https://replicate.com/kwaivgi/kling-v2.6/api
    "kwaivgi/kling-v2.6": {"prompt": str, "negative_prompt": str, "start_image": "image",
                           "aspect_ratio": _ASPECTS, "duration": {5, 10}, "generate_audio": bool},
    # https://replicate.com/kwaivgi/kling-v3-video/api: duration 3-15, mode standard/pro,
    # end_image "Requires start_image".
    "kwaivgi/kling-v3-video": {"prompt": str, "negative_prompt": str, "start_image": "image",
                               "end_image": "image", "mode": {"standard", "pro"}, "aspect_ratio": _ASPECTS,
                               "duration": set(range(3, 16)), "generate_audio": bool},
    # https://replicate.com/google/veo-3.1/api
    "google/veo-3.1": {"prompt": str, "negative_prompt": str, "image": "image", "aspect_ratio": {"16:9", "9:16"},
                       "duration": {4, 6, 8}, "resolution": {"720p", "1080p"}, "generate_audio": bool},
}


def _problem(status: int, title: str, detail: str) -> tuple[int, dict[str, str], Any]:
    return status, {"Content-Type": "application/problem+json"}, {"title": title, "detail": detail, "status": status}


class FakeReplicate(FakeServer):
    def __init__(self, clip: Path, token: str = "r8_FakeReplicateToken0123456789abcdef", polls: int = 3) -> None:
        super().__init__()
        self.clip_bytes, self.token, self.polls = Path(clip).read_bytes(), token, polls
        self.predictions: dict[str, dict[str, Any]] = {}
        self.submissions: list[dict[str, Any]] = []
        self.cancelled: list[str] = []

    @property
    def url(self) -> str:
        return f"{self.origin}/v1"

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], Any]:
        parts = path.split("?")[0].strip("/").split("/")
        if parts[0] == "cdn" and method == "GET":  # replicate.delivery: no credentials expected
            return 200, {"Content-Type": "video/mp4"}, self.clip_bytes
        # "Authorization: Bearer $REPLICATE_API_TOKEN" (https://replicate.com/docs/reference/http#authentication)
        if headers.get("authorization") != f"Bearer {self.token}":
            return _problem(401, "Unauthenticated", "You did not pass a valid authentication token")
        with self.lock:
            if method == "POST" and len(parts) == 5 and parts[:2] == ["v1", "models"] and parts[4] == "predictions":
                return self._create(f"{parts[2]}/{parts[3]}", body)
            if parts[:2] == ["v1", "predictions"] and len(parts) >= 3:
                p = self.predictions.get(parts[2])
                if p is None:
                    return _problem(404, "Not found", "The requested resource could not be found.")
                if method == "GET" and len(parts) == 3:
                    return self._get(p)
                if method == "POST" and parts[3:] == ["cancel"]:
                    if p["status"] in ("starting", "processing"):
                        p["status"] = "canceled"
                        self.cancelled.append(p["id"])
                    return 200, {}, self._view(p)
        return _problem(404, "Not found", "The requested resource could not be found.")

    def _create(self, model: str, body: bytes) -> tuple[int, dict[str, str], Any]:
        schema = MODELS.get(model)
        if schema is None:
            return _problem(404, "Not found", f"Model {model} not found")
        try:
            data = json.loads(body or b"{}")
        except ValueError:
            return _problem(400, "Bad request", "body is not JSON")
        inp = data.get("input") if isinstance(data, dict) else None
        if not isinstance(inp, dict) or set(data) - {"input", "webhook", "webhook_events_filter"}:
            return _problem(422, "Input validation failed", "the body is {\"input\": {...}}")
        bad = []
        for name, value in inp.items():
            rule = schema.get(name)
            if rule is None:
                bad.append(f"{name}: Additional property {name} is not allowed")
            elif rule == "image":
                if not (isinstance(value, str) and _is_image(value)):
                    bad.append(f"{name}: not an image URL or data URI")
            elif isinstance(rule, set):
                if isinstance(value, bool) or value not in rule:
                    bad.append(f"{name}: {value!r} is not one of {sorted(rule, key=str)}")
            elif not isinstance(value, rule):
                bad.append(f"{name}: must be {rule.__name__}")
        if "prompt" not in inp:
            bad.append("prompt: is required")
        if "end_image" in inp and "start_image" not in inp:
            bad.append("end_image: requires start_image")
        if bad:
            return _problem(422, "Input validation failed", "; ".join(bad))
        pid = secrets.token_hex(10)
        self.predictions[pid] = {"id": pid, "model": model, "input": inp, "status": "starting", "polls": 0,
                                 "output": None, "error": None}
        self.submissions.append({"model": model, "id": pid, **inp})
        return 201, {}, self._view(self.predictions[pid])

    def _view(self, p: dict[str, Any]) -> dict[str, Any]:
        base = f"{self.origin}/v1/predictions/{p['id']}"
        return {"id": p["id"], "model": p["model"], "version": "hidden", "input": p["input"], "logs": "",
                "output": p["output"], "error": p["error"], "status": p["status"],
                "created_at": "2026-11-26T12:00:00.000Z", "urls": {"get": base, "cancel": f"{base}/cancel"}}

    def _get(self, p: dict[str, Any]) -> tuple[int, dict[str, str], Any]:
        if p["status"] in ("starting", "processing"):
            p["polls"] += 1
            prompt = p["input"].get("prompt", "")
            if "[fail]" in prompt and p["polls"] >= 2:
                p.update(status="failed", error="Prediction failed: the prompt was flagged as sensitive (E005)")
            elif "[hold]" in prompt:
                p["status"] = "processing"
            elif p["polls"] >= self.polls:
                p.update(status="succeeded", output=f"{self.origin}/cdn/{p['id']}.mp4")
            else:
                p["status"] = "processing"
        return 200, {}, self._view(p)

    def release(self) -> None:
        with self.lock:
            for p in self.predictions.values():
                p["input"]["prompt"] = p["input"].get("prompt", "").replace("[hold]", "")


def _is_image(value: str) -> bool:
    if value.startswith(("http://", "https://")):
        return True
    head, _, data = value.partition(",")
    if not head.startswith(("data:image/png;base64", "data:image/jpeg;base64")):
        return False
    raw = base64.b64decode(data)
    return raw.startswith(b"\x89PNG") or raw.startswith(b"\xff\xd8")
