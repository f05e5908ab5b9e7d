"""A test double of the Kling API, written from its reference:

    Authorization: Bearer <JWT HS256, iss = access key, exp, nbf>   (verified with PyJWT)
    POST /v1/videos/text2video    model_name, prompt, negative_prompt, cfg_scale, mode,
                                  aspect_ratio, duration, camera_control, sound, callback_url,
                                  external_task_id
    POST /v1/videos/image2video   model_name, image, image_tail (raw base64), prompt, ...
    GET  /v1/videos/{kind}/{task_id}
    GET  /v1/videos/{kind}?external_task_id=...
Answers are envelopes {code, message, request_id, data}. Error codes as documented:
1000-1004 authentication, 1102 no balance, 1201 bad parameter, 1203 not found,
1301 content safety, 1303 concurrency over the account's limit.

Sources, cited at each rule below:
  [T2V] https://app.klingai.com/global/dev/document-api/apiReference/model/textToVideo
  [I2V] https://app.klingai.com/global/dev/document-api/apiReference/model/imageToVideo
  [MAP] https://app.klingai.com/global/dev/document-api/apiReference/model/skillsMap
        (the capability map: which model, mode and duration take which option)
  [I13] issue 13 of this project, which summarises the rules above as the client broke them
  [V3]  https://fal.ai/docs/model-api-reference/video-generation-api/kling-video-v3-pro and
        https://replicate.com/kwaivgi/kling-v3-video/api (kling-v3: 3-15 s, sound)
Videos are served from /cdn/{task}.mp4 (a separate "host": no credentials expected).
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
import time
from pathlib import Path
from urllib.parse import parse_qs
from typing import Any

import jwt

from tests.fake_http import FakeServer, clip_frames, image_difference

MODELS = {"kling-v1", "kling-v1-5", "kling-v1-6", "kling-v2-master", "kling-v2-1", "kling-v2-1-master",
          "kling-v2-5-turbo", "kling-v2-6", "kling-v3"}
V1 = {"kling-v1", "kling-v1-5", "kling-v1-6"}
# [MAP], [I13]: kling-v1-5 and kling-v2-1 are image-to-video models only.
IMAGE_ONLY = {"kling-v1-5", "kling-v2-1"}
# [T2V]: sound ("on"/"off") is taken by kling-v2-6 and later; [I13]: on kling-v2-6 only in pro mode.
SOUND = {"kling-v2-6", "kling-v3"}
# [T2V] duration is "5" or "10"; [V3] kling-v3 takes 3 to 15 seconds.
DURATIONS = {"kling-v3": {str(s) for s in range(3, 16)}}
# [MAP], [I13]: camera_control only on kling-v1 text2video std 5 s, and kling-v1-5 image2video
# pro 5 s with type "simple".
CAMERA = {("kling-v1", "text2video", "std", "5"): {"simple", "down_back", "forward_up", "right_turn_forward",
                                                   "left_turn_forward"},
          ("kling-v1-5", "image2video", "pro", "5"): {"simple"}}
CAMERA_AXES = ("horizontal", "vertical", "pan", "tilt", "roll", "zoom")
COMMON = {"model_name", "prompt", "negative_prompt", "cfg_scale", "mode", "duration", "camera_control",
          "callback_url", "external_task_id", "sound"}
FIELDS = {"text2video": COMMON | {"aspect_ratio"},
          "image2video": COMMON | {"image", "image_tail", "static_mask", "dynamic_masks"}}


def envelope(code: int, message: str, data: Any = None) -> dict[str, Any]:
    return {"code": code, "message": message, "request_id": secrets.token_hex(8), "data": data}


class FakeKling(FakeServer):
    def __init__(self, clip: Path, access: str = "ak-test-access-key-0001", secret: str = "sk-test-secret-key-for-hs256-signing-0001",
                 polls: int = 3, account_limit: int = 5) -> None:
        super().__init__()
        self.clip, self.access, self.secret = Path(clip), access, secret
        self.polls, self.account_limit = polls, account_limit
        self.clip_bytes = self.clip.read_bytes()
        self.first, self.last = clip_frames(self.clip)
        self.tasks: dict[str, dict[str, Any]] = {}
        self.submissions: list[dict[str, Any]] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.rejected_1303 = 0
        self.balance = True
        self.cdn_auth_headers: list[str] = []
        self.reference_diffs: list[tuple[float, float]] = []
        self.tokens: list[dict[str, Any]] = []

    @property
    def url(self) -> str:
        return self.origin

    def _auth(self, headers: dict[str, str]) -> tuple[int, dict[str, str], Any] | None:
        auth = headers.get("authorization")
        if not auth:
            return 401, {}, envelope(1001, "Authorization is empty")
        if not auth.startswith("Bearer "):
            return 401, {}, envelope(1002, "Authorization is invalid")
        token = auth[len("Bearer "):]
        try:
            header = jwt.get_unverified_header(token)
            if header.get("alg") != "HS256":
                return 401, {}, envelope(1002, "Authorization is invalid")
            claims = jwt.decode(token, self.secret, algorithms=["HS256"], options={"require": ["iss", "exp", "nbf"]},
                                leeway=0)
        except jwt.ExpiredSignatureError:
            return 401, {}, envelope(1004, "Authorization is expired")
        except jwt.ImmatureSignatureError:
            return 401, {}, envelope(1003, "Authorization is not yet valid")
        except jwt.InvalidTokenError:
            return 401, {}, envelope(1000, "Authentication failed")
        if claims["iss"] != self.access:
            return 401, {}, envelope(1000, "Authentication failed")
        now = time.time()
        if claims["exp"] > now + 1800 + 5 or claims["nbf"] > now:
            return 401, {}, envelope(1002, "Authorization is invalid (validity window)")
        self.tokens.append(claims)
        return None

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], Any]:
        parts = path.split("?")[0].strip("/").split("/")
        if parts[0] == "cdn" and method == "GET":
            self.cdn_auth_headers.append(headers.get("authorization", ""))
            return 200, {"Content-Type": "video/mp4"}, self.clip_bytes
        denied = self._auth(headers)
        if denied:
            return denied
        if parts[:2] != ["v1", "videos"] or len(parts) < 3 or parts[2] not in FIELDS:
            return 404, {}, envelope(1202, "Invalid request method or path")
        kind = parts[2]
        query = parse_qs(path.partition("?")[2])
        with self.lock:
            if method == "POST" and len(parts) == 3:
                return self._create(kind, body)
            if method == "GET" and len(parts) == 3 and "external_task_id" in query:
                # [T2V] "Query Task (Single)": the client's own id is a query parameter; [I13]
                ext = query["external_task_id"][0]
                tid = next((k for k, t in self.tasks.items() if t["external_task_id"] == ext), None)
                if tid is None:
                    return 404, {}, envelope(1203, "Requested resource does not exist")
                return self._query(kind, tid)
            if method == "GET" and len(parts) == 4:
                return self._query(kind, parts[3])
        return 404, {}, envelope(1202, "Invalid request method or path")

    def _bad(self, message: str) -> tuple[int, dict[str, str], Any]:
        return 400, {}, envelope(1201, message)

    def _check_image(self, value: Any, name: str) -> tuple[bytes | None, str | None]:
        if not isinstance(value, str):
            return None, f"{name} must be a string"
        if value.startswith("data:"):
            return None, f"{name}: Base64 must not carry a data: prefix"
        try:
            raw = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            return None, f"{name} is neither a URL nor valid Base64"
        import cv2
        import numpy as np

        img = cv2.imdecode(np.frombuffer(raw, np.uint8), cv2.IMREAD_COLOR)
        if img is None or not (raw.startswith(b"\x89PNG") or raw.startswith(b"\xff\xd8")):
            return None, f"{name} must be a .jpg/.jpeg/.png image"
        h, w = img.shape[:2]
        if min(w, h) < 300:
            return None, f"{name} must be at least 300px on each side ({w}x{h})"
        if not 0.4 <= w / h <= 2.5:
            return None, f"{name} aspect ratio must be between 1:2.5 and 2.5:1"
        return raw, None

    @staticmethod
    def _check_camera(req: dict[str, Any], model: str, kind: str, mode: str, duration: str) -> str | None:
        cam = req["camera_control"]
        if not isinstance(cam, dict) or "type" not in cam:
            return "camera_control must be an object with a type"
        types = CAMERA.get((model, kind, mode, duration))
        if types is None:  # [MAP], [I13]
            return f"camera_control is not supported by {model} {kind} {mode} {duration}s"
        if cam["type"] not in types:
            return f"camera_control type {cam['type']!r} is not supported here"
        if "image_tail" in req:  # [MAP], [I13]: camera_control excludes image_tail
            return "camera_control and image_tail cannot be used together"
        if cam["type"] == "simple":
            # [T2V]: type simple needs config with exactly one non-zero value, each in [-10, 10].
            config = cam.get("config")
            if not isinstance(config, dict) or set(config) - set(CAMERA_AXES):
                return "camera_control.config is required for type simple"
            moved = [k for k in CAMERA_AXES if config.get(k, 0) != 0]
            if len(moved) != 1:
                return "camera_control.config: exactly one of the six values must be non-zero"
            if any(not isinstance(config.get(k, 0), (int, float)) or not -10 <= config.get(k, 0) <= 10
                   for k in CAMERA_AXES):
                return "camera_control.config values must be in [-10, 10]"
        elif cam.get("config") is not None:
            return "camera_control.config must be empty unless type is simple"
        return None

    def _create(self, kind: str, body: bytes) -> tuple[int, dict[str, str], Any]:
        try:
            req = json.loads(body)
        except ValueError:
            return self._bad("request body is not JSON")
        if not isinstance(req, dict):
            return self._bad("request body must be an object")
        unknown = set(req) - FIELDS[kind]
        if unknown:
            return self._bad(f"unknown parameter: {sorted(unknown)[0]}")
        model = req.get("model_name", "kling-v1")
        if model not in MODELS:
            return self._bad(f"model_name {model!r} is not supported")
        prompt = req.get("prompt")
        if kind == "text2video" and (not isinstance(prompt, str) or not prompt.strip()):
            return self._bad("prompt is required")
        if prompt is not None and (not isinstance(prompt, str) or len(prompt) > 2500):
            return self._bad("prompt must be a string of at most 2500 characters")
        if "negative_prompt" in req and (not isinstance(req["negative_prompt"], str) or len(req["negative_prompt"]) > 2500):
            return self._bad("negative_prompt must be a string of at most 2500 characters")
        if "cfg_scale" in req:
            cfg = req["cfg_scale"]
            if model not in V1:
                return self._bad(f"cfg_scale is not supported by {model}")
            if isinstance(cfg, bool) or not isinstance(cfg, (int, float)) or not 0 <= cfg <= 1:
                return self._bad("cfg_scale must be a number in [0, 1]")
        if kind == "text2video" and model in IMAGE_ONLY:  # [MAP], [I13]
            return self._bad(f"model_name {model} is not supported for text2video")
        mode = req.get("mode", "std")
        if mode not in ("std", "pro"):
            return self._bad("mode must be std or pro")
        duration = req.get("duration", "5")
        if duration not in DURATIONS.get(model, {"5", "10"}):  # [T2V], [V3]
            return self._bad(f"duration {duration!r} is not supported by {model}")
        if kind == "text2video" and req.get("aspect_ratio", "16:9") not in ("16:9", "9:16", "1:1"):
            return self._bad("aspect_ratio must be 16:9, 9:16 or 1:1")
        if "sound" in req:
            if model not in SOUND:  # [T2V]
                return self._bad(f"sound is not supported by {model}")
            if req["sound"] not in ("on", "off"):
                return self._bad("sound must be 'on' or 'off'")
            if req["sound"] == "on" and model == "kling-v2-6" and mode != "pro":  # [I13], [MAP]
                return self._bad("sound is only available in pro mode")
        if "camera_control" in req:
            err = self._check_camera(req, model, kind, mode, duration)
            if err:
                return self._bad(err)
        if "image_tail" in req:
            # [MAP], [I13]: a last frame needs pro mode (kling-v3 takes it in std too, [V3]),
            # and 5 s on the v1.x models; on kling-v2-6 it excludes sound.
            if mode != "pro" and model != "kling-v3":
                return self._bad("image_tail is only supported in pro mode")
            if model in V1 and duration != "5":
                return self._bad(f"image_tail on {model} needs duration 5")
            if model == "kling-v2-6" and req.get("sound") == "on":
                return self._bad("image_tail and sound cannot be used together")
        if kind == "image2video":
            if "image" not in req:
                return self._bad("image is required")
            raw, err = self._check_image(req["image"], "image")
            if err:
                return self._bad(err)
            self.reference_diffs.append((image_difference(raw, self.last), image_difference(raw, self.first)))
            if "image_tail" in req:
                _, err = self._check_image(req["image_tail"], "image_tail")
                if err:
                    return self._bad(err)
        ext = req.get("external_task_id")
        if ext is not None:
            if not isinstance(ext, str):
                return self._bad("external_task_id must be a string")
            if any(t["external_task_id"] == ext for t in self.tasks.values()):
                return self._bad("external_task_id must be unique for the account")
        if not self.balance:
            return 429, {}, envelope(1102, "Account balance not enough")
        if isinstance(prompt, str) and "[unsafe]" in prompt:
            return 400, {}, envelope(1301, "Trigger the content security policy of the platform")
        if self.in_flight >= self.account_limit:
            self.rejected_1303 += 1
            return 429, {}, envelope(1303, "Parallel task over resource pack limit")
        tid = str(800000000000 + len(self.tasks) * 7919 + secrets.randbelow(7000))
        now = int(time.time() * 1000)
        self.tasks[tid] = {"task_id": tid, "kind": kind, "status": "submitted", "msg": "",
                           "external_task_id": ext, "prompt": prompt or "", "polls": 0,
                           "created_at": now, "updated_at": now, "duration": req.get("duration", "5")}
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        self.submissions.append({**{k: v for k, v in req.items() if k not in ("image", "image_tail")},
                                 "kind": kind, "task_id": tid, "has_image": "image" in req})
        return 200, {}, envelope(0, "SUCCEED", self._data(tid))

    def _data(self, tid: str) -> dict[str, Any]:
        t = self.tasks[tid]
        data: dict[str, Any] = {"task_id": tid, "task_status": t["status"],
                                "task_info": {"external_task_id": t["external_task_id"]},
                                "created_at": t["created_at"], "updated_at": t["updated_at"]}
        if t["status"] == "failed":
            data["task_status_msg"] = t["msg"]
        if t["status"] == "succeed":
            data["task_result"] = {"videos": [{"id": f"v{tid}", "url": f"{self.origin}/cdn/{tid}.mp4",
                                               "duration": t["duration"]}]}
        return data

    def _query(self, kind: str, ident: str) -> tuple[int, dict[str, str], Any]:
        tid = ident if ident in self.tasks else None  # a path segment is a task_id only [T2V], [I13]
        if tid is None or self.tasks[tid]["kind"] != kind:
            return 404, {}, envelope(1203, "Requested resource does not exist")
        t = self.tasks[tid]
        if t["status"] in ("submitted", "processing"):
            t["polls"] += 1
            t["updated_at"] = int(time.time() * 1000)
            if "[fail]" in t["prompt"] and t["polls"] >= 2:
                t.update(status="failed", msg="Video generation failed: risk control check not passed")
                self.in_flight -= 1
            elif "[hold]" in t["prompt"]:
                t["status"] = "processing"
            elif t["polls"] >= self.polls:
                t["status"] = "succeed"
                self.in_flight -= 1
            else:
                t["status"] = "processing"
        return 200, {}, envelope(0, "SUCCEED", self._data(tid))

    def release(self) -> None:
        with self.lock:
            for t in self.tasks.values():
                t["prompt"] = t["prompt"].replace("[hold]", "")
