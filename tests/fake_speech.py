"""Test doubles of the speech APIs, written from their references:

ElevenLabs (https://elevenlabs.io/docs/api-reference):
    GET  /v1/voices                                  {"voices": [{"voice_id", "name"}, ...]}
    POST /v1/text-to-speech/{voice_id}/with-timestamps?output_format=...
         {"text", "model_id"} -> {"audio_base64", "alignment": {"characters",
         "character_start_times_seconds", "character_end_times_seconds"}}
    An unknown (or retired) voice is 404 {"detail": {"status": "voice_not_found", ...}}.
OpenAI (https://platform.openai.com/docs/api-reference/audio/createSpeech):
    POST /v1/audio/speech  {"model", "voice", "input" (at most 4096 characters),
         "response_format"} -> audio/wav; an input over 4096 characters is 400;
    out of credit is 429 {"error": {"code": "insufficient_quota"}}
    (https://platform.openai.com/docs/guides/error-codes).
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from tests.fake_http import FakeServer

RETIRED = "21m00Tcm4TlvDq8ikWAM"  # "Rachel": retired in 2026, answers 404 (issue 13)


class FakeElevenLabs(FakeServer):
    def __init__(self, mp3: bytes, key: str = "xi-test-key-0123456789") -> None:
        super().__init__()
        self.mp3, self.key = mp3, key
        self.voices = [{"voice_id": "EXAVITQu4vr4xnSDxMaL", "name": "Sarah"},
                       {"voice_id": "JBFqnCBsd6RMkjVDRZzb", "name": "George"}]
        self.spoken: list[dict[str, Any]] = []

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], Any]:
        if headers.get("xi-api-key") != self.key:
            return 401, {}, {"detail": {"status": "invalid_api_key", "message": "Invalid API key"}}
        parts = path.split("?")[0].strip("/").split("/")
        if method == "GET" and parts == ["v1", "voices"]:
            return 200, {}, {"voices": self.voices}
        if method == "POST" and len(parts) == 4 and parts[:2] == ["v1", "text-to-speech"] and parts[3] == "with-timestamps":
            voice = parts[2]
            if voice not in {v["voice_id"] for v in self.voices}:
                return 404, {}, {"detail": {"status": "voice_not_found", "message": f"A voice with voice_id {voice} "
                                                                                    "was not found."}}
            req = json.loads(body)
            text = req["text"]
            # Each character lasts 0.05 s, each space 0.1 s: times the client must read, not guess.
            starts, ends, t = [], [], 0.2
            for ch in text:
                d = 0.1 if ch == " " else 0.05
                starts.append(round(t, 3))
                ends.append(round(t + d, 3))
                t += d
            self.spoken.append({"voice": voice, **req})
            return 200, {}, {"audio_base64": base64.b64encode(self.mp3).decode(),
                             "alignment": {"characters": list(text), "character_start_times_seconds": starts,
                                           "character_end_times_seconds": ends}}
        return 404, {}, {"detail": "Not Found"}


class FakeOpenAISpeech(FakeServer):
    def __init__(self, wav: Path, key: str = "sk-speech-test-0123456789") -> None:
        super().__init__()
        self.wav, self.key = Path(wav).read_bytes(), key
        self.inputs: list[str] = []
        self.out_of_credit = False

    @property
    def url(self) -> str:
        return f"{self.origin}/v1"

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], Any]:
        if headers.get("authorization") != f"Bearer {self.key}":
            return 401, {}, {"error": {"message": "Incorrect API key provided", "code": "invalid_api_key"}}
        if method != "POST" or path.split("?")[0] != "/v1/audio/speech":
            return 404, {}, {"error": {"message": "Not found"}}
        if self.out_of_credit:
            return 429, {}, {"error": {"message": "You exceeded your current quota", "type": "insufficient_quota",
                                       "code": "insufficient_quota"}}
        req = json.loads(body)
        if len(req.get("input", "")) > 4096:
            return 400, {}, {"error": {"message": "input: string too long, maximum 4096 characters",
                                       "code": "string_above_max_length"}}
        self.inputs.append(req["input"])
        return 200, {"Content-Type": "audio/wav"}, self.wav
