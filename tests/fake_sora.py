"""A test double of OpenAI's Videos API (the Sora protocol), written from its reference:

    POST /v1/videos                 JSON or multipart/form-data: model, prompt, seconds, size,
                                    input_reference (an image file of exactly `size`)
    POST /v1/videos/{id}/remix      JSON {prompt}
    GET  /v1/videos/{id}            the video object: status queued | in_progress | completed |
                                    failed, progress 0-100, error {code, message}
    GET  /v1/videos/{id}/content    the MP4 (only once completed)

The server decides what is valid: a bad key is 401 (its message echoes the key, so the
client must redact it), unknown or mistyped fields are 400.
"""

from __future__ import annotations

import email.parser
import email.policy
import json
import secrets
import time
from pathlib import Path
from typing import Any

from tests.fake_http import FakeServer, clip_frames, image_difference

MODELS = {"sora-2": {"720x1280", "1280x720"},
          "sora-2-pro": {"720x1280", "1280x720", "1024x1792", "1792x1024"}}
SECONDS = {"4", "8", "12"}


def _error(status: int, message: str, code: str | None = None, typ: str = "invalid_request_error") -> tuple[int, dict[str, str], Any]:
    return status, {}, {"error": {"message": message, "type": typ, "param": None, "code": code}}


def parse_multipart(content_type: str, body: bytes) -> tuple[dict[str, str], dict[str, tuple[str, str, bytes]]]:
    """(fields, files {name: (filename, content type, bytes)}) of a multipart/form-data body."""
    msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body)
    fields: dict[str, str] = {}
    files: dict[str, tuple[str, str, bytes]] = {}
    for part in msg.iter_parts():
        name = part.get_param("name", header="content-disposition")
        filename = part.get_param("filename", header="content-disposition")
        payload = part.get_payload(decode=True) or b""
        if filename is not None:
            files[name] = (filename, part.get_content_type(), payload)
        else:
            fields[name] = payload.decode()
    return fields, files


class FakeSora(FakeServer):
    def __init__(self, clip: Path, key: str = "sk-test-0123456789abcdef", polls: int = 3,
                 poll_after_ms: int | None = None) -> None:
        super().__init__()
        self.clip, self.key, self.polls, self.poll_after_ms = Path(clip), key, polls, poll_after_ms
        self.clip_bytes = self.clip.read_bytes()
        self.first, self.last = clip_frames(self.clip)
        self.videos: dict[str, dict[str, Any]] = {}
        self.submissions: list[dict[str, Any]] = []  # accepted creations (and remixes)
        self.reference_diffs: list[tuple[float, float]] = []  # (vs last frame, vs first frame)

    @property
    def url(self) -> str:
        return f"{self.origin}/v1"

    def _video(self, vid: str) -> dict[str, Any]:
        v = self.videos[vid]
        out = {k: v[k] for k in ("id", "object", "model", "status", "progress", "created_at", "size",
                                 "seconds", "remixed_from_video_id", "error", "completed_at", "expires_at")}
        return out

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], Any]:
        if headers.get("authorization") != f"Bearer {self.key}":
            got = headers.get("authorization", "").removeprefix("Bearer ")
            return _error(401, f"Incorrect API key provided: {got}. You can find your API key at "
                               "https://platform.openai.com/account/api-keys.", "invalid_api_key")
        parts = path.split("?")[0].strip("/").split("/")
        if parts[:2] != ["v1", "videos"]:
            return _error(404, f"Invalid URL ({method} {path})")
        with self.lock:
            if method == "POST" and len(parts) == 2:
                return self._create(headers, body)
            if method == "POST" and len(parts) == 4 and parts[3] == "remix":
                return self._remix(parts[2], headers, body)
            if method == "GET" and len(parts) == 3:
                return self._status(parts[2])
            if method == "GET" and len(parts) == 4 and parts[3] == "content":
                vid = parts[2]
                if vid not in self.videos:
                    return _error(404, f"Video with id '{vid}' not found.")
                if self.videos[vid]["status"] != "completed":
                    return _error(400, "Video is not ready yet, use GET /v1/videos/{video_id} to check status.")
                return 200, {"Content-Type": "video/mp4"}, self.clip_bytes
        return _error(404, f"Invalid URL ({method} {path})")

    def _create(self, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], Any]:
        ctype = headers.get("content-type", "")
        image: bytes | None = None
        if ctype.startswith("application/json"):
            try:
                fields = json.loads(body)
            except ValueError:
                return _error(400, "We could not parse the JSON body of your request.")
            if not isinstance(fields, dict):
                return _error(400, "The body must be a JSON object.")
            if "input_reference" in fields:
                return _error(400, "input_reference must be uploaded as a file (multipart/form-data).")
        elif ctype.startswith("multipart/form-data"):
            fields, files = parse_multipart(ctype, body)
            unknown_files = set(files) - {"input_reference"}
            if unknown_files:
                return _error(400, f"Unknown file parameter: '{sorted(unknown_files)[0]}'.")
            if "input_reference" in files:
                _, mime, image = files["input_reference"]
                if mime not in ("image/jpeg", "image/png", "image/webp"):
                    return _error(400, f"Invalid input_reference mime type {mime!r}.", "invalid_value")
        else:
            return _error(400, f"Unsupported content type {ctype!r}.")
        unknown = set(fields) - {"model", "prompt", "seconds", "size"}
        if unknown:
            return _error(400, f"Unknown parameter: '{sorted(unknown)[0]}'.", "unknown_parameter")
        prompt = fields.get("prompt")
        if not isinstance(prompt, str) or not prompt.strip():
            return _error(400, "Missing required parameter: 'prompt'.", "missing_required_parameter")
        model = fields.get("model", "sora-2")
        if model not in MODELS:
            return _error(400, f"Invalid value: '{model}'. Supported values are: 'sora-2' and 'sora-2-pro'.")
        seconds = fields.get("seconds", "4")
        if not isinstance(seconds, str) or seconds not in SECONDS:
            return _error(400, f"Invalid value for 'seconds': {seconds!r}. Supported values are: '4', '8', and '12'.")
        size = fields.get("size", "720x1280")
        if size not in MODELS[model]:
            return _error(400, f"Invalid value for 'size': {size!r} with model {model}.")
        if image is not None:
            import cv2
            import numpy as np

            img = cv2.imdecode(np.frombuffer(image, np.uint8), cv2.IMREAD_COLOR)
            if img is None:
                return _error(400, "input_reference is not a decodable image.", "invalid_image")
            w, h = (int(x) for x in size.split("x"))
            if img.shape[1] != w or img.shape[0] != h:
                return _error(400, "Inputs must match the requested width and height "
                                   f"({img.shape[1]}x{img.shape[0]} given, {size} requested).", "invalid_value")
            self.reference_diffs.append((image_difference(image, self.last), image_difference(image, self.first)))
        vid = self._new(model, prompt, seconds, size, None)
        self.submissions.append({**fields, "input_reference": image is not None, "id": vid})
        return 200, {}, self._video(vid)

    def _remix(self, src: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], Any]:
        if src not in self.videos:
            return _error(404, f"Video with id '{src}' not found.")
        if self.videos[src]["status"] != "completed":
            return _error(400, "Only completed videos can be remixed.")
        try:
            fields = json.loads(body)
        except ValueError:
            return _error(400, "We could not parse the JSON body of your request.")
        if set(fields) != {"prompt"} or not isinstance(fields["prompt"], str) or not fields["prompt"].strip():
            return _error(400, "A remix takes exactly one parameter: 'prompt'.")
        s = self.videos[src]
        vid = self._new(s["model"], fields["prompt"], s["seconds"], s["size"], src)
        self.submissions.append({"prompt": fields["prompt"], "remix_of": src, "id": vid})
        return 200, {}, self._video(vid)

    def _new(self, model: str, prompt: str, seconds: str, size: str, remixed: str | None) -> str:
        vid = f"video_{secrets.token_hex(12)}"
        self.videos[vid] = {"id": vid, "object": "video", "model": model, "status": "queued", "progress": 0,
                            "created_at": int(time.time()), "size": size, "seconds": seconds,
                            "remixed_from_video_id": remixed, "error": None, "completed_at": None,
                            "expires_at": None, "prompt": prompt, "polls": 0}
        return vid

    def _status(self, vid: str) -> tuple[int, dict[str, str], Any]:
        if vid not in self.videos:
            return _error(404, f"Video with id '{vid}' not found.")
        v = self.videos[vid]
        if v["status"] in ("queued", "in_progress"):
            v["polls"] += 1
            if "[fail]" in v["prompt"] and v["polls"] >= 2:
                v.update(status="failed", error={"code": "moderation_blocked",
                                                 "message": "Your request was blocked by our moderation system."})
            elif "[hold]" in v["prompt"]:
                v.update(status="in_progress", progress=10)
            elif v["polls"] >= self.polls:
                v.update(status="completed", progress=100, completed_at=int(time.time()),
                         expires_at=int(time.time()) + 3600)
            else:
                v.update(status="in_progress", progress=int(100 * v["polls"] / self.polls))
        hdrs = {"openai-poll-after-ms": str(self.poll_after_ms)} if self.poll_after_ms is not None else {}
        return 200, hdrs, self._video(vid)

    def release(self) -> None:
        """Let held jobs ('[hold]' in the prompt) complete on their next poll."""
        with self.lock:
            for v in self.videos.values():
                v["prompt"] = v["prompt"].replace("[hold]", "")
