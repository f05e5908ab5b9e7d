"""ElevenLabs text to speech with exact word times:
POST {ELEVENLABS_BASE_URL}/v1/text-to-speech/{voice_id}/with-timestamps
(https://elevenlabs.io/docs/api-reference/text-to-speech/convert-with-timestamps) answers
{"audio_base64", "alignment": {"characters", "character_start_times_seconds",
"character_end_times_seconds"}}; the words' times are read from the characters'.

There is no built-in default voice: the legacy "Rachel" voice (21m00Tcm4TlvDq8ikWAM) was
retired and answers 404. Without --voice, the first voice of the account's
GET /v1/voices (https://elevenlabs.io/docs/api-reference/voices/search) is used; a voice
the account does not have is bad input naming the ones it has.
"""

from __future__ import annotations

import base64
import os
from typing import Any
from urllib.parse import quote

from pipeline.errors import InputError, ProviderError
from pipeline.providers.speech import SpeechRefused, post_for_audio

DEFAULT_BASE = "https://api.elevenlabs.io"
DEFAULT_MODEL = "eleven_multilingual_v2"
DEFAULT_VOICE = ""  # chosen from the account's voices
OUTPUT_FORMAT = "mp3_44100_128"


def _key_base() -> tuple[str, str]:
    key = os.environ.get("ELEVENLABS_API_KEY")
    if not key:
        raise InputError("--tts elevenlabs: ELEVENLABS_API_KEY is not set")
    return key, os.environ.get("ELEVENLABS_BASE_URL") or DEFAULT_BASE


def voices() -> list[dict[str, Any]]:
    """The account's voices: [{"voice_id", "name"}, ...]."""
    key, base = _key_base()
    data = post_for_audio(base, "v1/voices", {"xi-api-key": key}, {}, "elevenlabs voices", key,
                          "ELEVENLABS_API_KEY", method="GET", json_answer=True)
    found = data.get("voices")
    return [v for v in found if isinstance(v, dict) and v.get("voice_id")] if isinstance(found, list) else []


def word_times(text: str, alignment: dict[str, Any]) -> list[dict]:
    """Words with start and end seconds from a character alignment (whitespace splits words)."""
    chars = alignment.get("characters") or []
    starts = alignment.get("character_start_times_seconds") or []
    ends = alignment.get("character_end_times_seconds") or []
    words: list[dict] = []
    current: list[str] = []
    start = end = 0.0
    for ch, s0, e0 in zip(chars, starts, ends):
        if ch.isspace():
            if current:
                words.append({"text": "".join(current), "start": round(start, 4), "end": round(end, 4)})
                current = []
            continue
        if not current:
            start = float(s0)
        current.append(ch)
        end = float(e0)
    if current:
        words.append({"text": "".join(current), "start": round(start, 4), "end": round(end, 4)})
    return words


def synthesize(text: str, voice: str | None = None, model: str | None = None) -> tuple[bytes, str, list[dict], str]:
    """Speak `text`; returns (MP3 bytes, file extension, word timings, the voice used)."""
    key, base = _key_base()
    if not voice:
        available = voices()
        if not available:
            raise InputError("--voice: this ElevenLabs account has no voices; add one in ElevenLabs first")
        voice = str(available[0]["voice_id"])
    path = f"v1/text-to-speech/{quote(voice, safe='')}/with-timestamps"
    body = {"text": text, "model_id": model or DEFAULT_MODEL}
    try:
        data = post_for_audio(base, path, {"xi-api-key": key}, body, "elevenlabs speech", key,
                              "ELEVENLABS_API_KEY", params={"output_format": OUTPUT_FORMAT}, json_answer=True)
    except SpeechRefused as exc:
        if exc.status != 404:
            raise
        names = ", ".join(f"{v.get('name', '?')} ({v['voice_id']})" for v in voices()[:12]) or "none"
        raise InputError(f"--voice {voice}: not a voice of this ElevenLabs account; it has {names}") from None
    try:
        audio = base64.b64decode(data.get("audio_base64") or "", validate=True)
    except (ValueError, TypeError):
        audio = b""
    if not audio.startswith((b"ID3", b"\xff\xfb", b"\xff\xf3", b"\xff\xf2")):
        raise ProviderError("elevenlabs speech: the answer carries no MP3 audio")
    words = word_times(text, data.get("alignment") or {})
    return audio, ".mp3", words, voice
