"""A test double of fal's queue API, written from its documentation:

    POST /{endpoint id}                       the model's input; Authorization: Key <FAL_KEY>
         -> {request_id, response_url, status_url, cancel_url}
    GET  /{app}/requests/{id}/status          {status: IN_QUEUE | IN_PROGRESS | COMPLETED, ...}
    GET  /{app}/requests/{id}                 the model's output {"video": {"url", ...}}
    PUT  /{app}/requests/{id}/cancel          202 CANCELLATION_REQUESTED | 400 ALREADY_COMPLETED

where {app} is the endpoint id's owner/alias without its subpath (fal-ai/kling-video).
Queue protocol: https://docs.fal.ai/documentation/model-apis/inference/queue (also
https://fal.ai/docs/model-endpoints/queue). Each endpoint's input schema is cited by ENDPOINTS.
"""

from __future__ import annotations

import base64
import json
import secrets
from pathlib import Path
from typing import Any

from tests.fake_http import FakeServer

_KLING_ASPECTS = {"16:9", "9:16", "1:1"}
_KLING_5_10 = {"5", "10"}
_V3_SECONDS = {str(s) for s in range(3, 16)}
# endpoint id -> {field: allowed values (a set), or a type}; "required" lists the must-haves.
ENDPOINTS: dict[str, dict[str, Any]] = {
    # https://fal.ai/models/fal-ai/kling-video/v2.5-turbo/pro/text-to-video/api
    "fal-ai/kling-video/v2.5-turbo/pro/text-to-video": {
        "prompt": str, "duration": _KLING_5_10, "aspect_ratio": _KLING_ASPECTS, "negative_prompt": str,
        "cfg_scale": float, "required": ["prompt"]},
    "fal-ai/kling-video/v2.5-turbo/pro/image-to-video": {
        "prompt": str, "image_url": "image", "duration": _KLING_5_10, "negative_prompt": str,
        "cfg_scale": float, "required": ["prompt", "image_url"]},
    # https://fal.ai/docs/model-api-reference/video-generation-api/kling-video-v2.6-pro
    "fal-ai/kling-video/v2.6/pro/text-to-video": {
        "prompt": str, "duration": _KLING_5_10, "aspect_ratio": _KLING_ASPECTS, "negative_prompt": str,
        "cfg_scale": float, "generate_audio": bool, "required": ["prompt"]},
    "fal-ai/kling-video/v2.6/pro/image-to-video": {
        "prompt": str, "start_image_url": "image", "duration": _KLING_5_10, "negative_prompt": str,
        "cfg_scale": float, "generate_audio": bool, "required": ["prompt", "start_image_url"]},
    # https://fal.ai/docs/model-api-reference/video-generation-api/kling-video-v3-pro (3-15 s)
    "fal-ai/kling-video/v3/pro/text-to-video": {
        "prompt": str, "duration": _V3_SECONDS, "aspect_ratio": _KLING_ASPECTS, "negative_prompt": str,
        "cfg_scale": float, "generate_audio": bool, "required": ["prompt"]},
    "fal-ai/kling-video/v3/pro/image-to-video": {
        "prompt": str, "start_image_url": "image", "end_image_url": "image", "duration": _V3_SECONDS,
        "negative_prompt": str, "cfg_scale": float, "generate_audio": bool,
        "required": ["start_image_url"]},
    # https://fal.ai/models/fal-ai/veo3.1/api (fields as https://fal.ai/models/fal-ai/veo3/fast/llms.txt)
    "fal-ai/veo3.1": {
        "prompt": str, "aspect_ratio": {"16:9", "9:16"}, "duration": {"4s", "6s", "8s"},
        "resolution": {"720p", "1080p"}, "generate_audio": bool, "negative_prompt": str,
        "required": ["prompt"]},
    "fal-ai/veo3.1/image-to-video": {
        "prompt": str, "image_url": "image", "duration": {"4s", "6s", "8s"}, "resolution": {"720p", "1080p"},
        "generate_audio": bool, "negative_prompt": str, "required": ["prompt", "image_url"]},
}


def _detail(status: int, message: str) -> tuple[int, dict[str, str], Any]:
    return status, {}, {"detail": message}


class FakeFal(FakeServer):
    def __init__(self, clip: Path, key: str = "fal-key-id-0001:fal-key-secret-0123456789abcdef",
                 polls: int = 3) -> None:
        super().__init__()
        self.clip_bytes, self.key, self.polls = Path(clip).read_bytes(), key, polls
        self.requests_: dict[str, dict[str, Any]] = {}
        self.submissions: list[dict[str, Any]] = []
        self.cancelled: list[str] = []

    @property
    def url(self) -> str:
        return self.origin

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], Any]:
        route = path.split("?")[0].strip("/")
        if route.startswith("cdn/") and method == "GET":  # the media host: no credentials expected
            return 200, {"Content-Type": "video/mp4"}, self.clip_bytes
        # Authentication: "Authorization: Key $FAL_KEY"
        # (https://docs.fal.ai/documentation/model-apis/authentication).
        if headers.get("authorization") != f"Key {self.key}":
            return _detail(401, "Invalid Key authorization header format or key not found")
        parts = route.split("/")
        with self.lock:
            if method == "POST" and route in ENDPOINTS:
                return self._submit(route, body)
            if "requests" in parts:
                i = parts.index("requests")
                app, rest = "/".join(parts[:i]), parts[i + 1:]
                rid = rest[0] if rest else ""
                r = self.requests_.get(rid)
                if r is None or r["app"] != app:  # status and result live under the app id
                    return _detail(404, f"Request {rid} not found")
                if method == "GET" and rest[1:] == ["status"]:
                    return self._status(r)
                if method == "GET" and len(rest) == 1:
                    return self._result(r)
                if method == "PUT" and rest[1:] == ["cancel"]:
                    return self._cancel(r)
        return _detail(404, f"Application '{route}' not found")

    def _submit(self, endpoint: str, body: bytes) -> tuple[int, dict[str, str], Any]:
        try:
            data = json.loads(body or b"{}")
        except ValueError:
            return _detail(422, "body is not JSON")
        schema = ENDPOINTS[endpoint]
        if not isinstance(data, dict):
            return _detail(422, "body must be an object")
        for name in schema["required"]:
            if name not in data:
                return _detail(422, f"field required: {name}")
        for name, value in data.items():
            rule = schema.get(name)
            if rule is None or name == "required":
                # Stricter than fal (which ignores unknown fields) so a misspelt field fails here.
                return _detail(422, f"extra field not permitted: {name}")
            if rule == "image":
                if not (isinstance(value, str) and (value.startswith(("http://", "https://"))
                                                    or _is_image_data_uri(value))):
                    return _detail(422, f"{name}: not an image URL or data URI")
            elif isinstance(rule, set):
                if value not in rule:
                    return _detail(422, f"{name}: {value!r} is not one of {sorted(rule)}")
            elif rule is float:
                if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
                    return _detail(422, f"{name}: a number from 0 to 1")
            elif not isinstance(value, rule):
                return _detail(422, f"{name}: must be {rule.__name__}")
        rid = secrets.token_hex(8)
        app = "/".join(endpoint.split("/")[:2])
        base = f"{self.origin}/{app}/requests/{rid}"
        prompt = data.get("prompt") or ""
        self.requests_[rid] = {"id": rid, "app": app, "endpoint": endpoint, "prompt": prompt, "polls": 0,
                               "status": "IN_QUEUE"}
        self.submissions.append({"endpoint": endpoint, "request_id": rid, **data})
        return 200, {}, {"request_id": rid, "response_url": base, "status_url": f"{base}/status",
                         "cancel_url": f"{base}/cancel"}

    def _status(self, r: dict[str, Any]) -> tuple[int, dict[str, str], Any]:
        if r["status"] in ("IN_QUEUE", "IN_PROGRESS"):
            r["polls"] += 1
            if "[hold]" in r["prompt"]:
                r["status"] = "IN_PROGRESS"
            elif r["polls"] >= self.polls:
                r["status"] = "COMPLETED"
            else:
                r["status"] = "IN_PROGRESS"
        out = {"status": r["status"], "response_url": f"{self.origin}/{r['app']}/requests/{r['id']}"}
        if r["status"] == "IN_QUEUE":
            out["queue_position"] = 0
        return 200, {}, out

    def _result(self, r: dict[str, Any]) -> tuple[int, dict[str, str], Any]:
        if r["status"] != "COMPLETED":
            return _detail(400, "Request is still in progress")
        if "[fail]" in r["prompt"]:  # a failed run: its result is an error with the reason
            return _detail(422, "Generation failed: the prompt was flagged by the content checker")
        return 200, {}, {"video": {"url": f"{self.origin}/cdn/{r['id']}.mp4", "content_type": "video/mp4",
                                   "file_name": "output.mp4", "file_size": len(self.clip_bytes)}}

    def _cancel(self, r: dict[str, Any]) -> tuple[int, dict[str, str], Any]:
        if r["status"] == "COMPLETED":
            return 400, {}, {"status": "ALREADY_COMPLETED"}
        r["status"] = "COMPLETED"
        r["prompt"] = "[fail] cancelled"
        self.cancelled.append(r["id"])
        return 202, {}, {"status": "CANCELLATION_REQUESTED"}

    def release(self) -> None:
        with self.lock:
            for r in self.requests_.values():
                r["prompt"] = r["prompt"].replace("[hold]", "")


def _is_image_data_uri(value: str) -> bool:
    head, _, data = value.partition(",")
    if not head.startswith(("data:image/png;base64", "data:image/jpeg;base64")):
        return False
    raw = base64.b64decode(data)
    return raw.startswith(b"\x89PNG") or raw.startswith(b"\xff\xd8")
