"""ElevenLabs text to speech: POST {ELEVENLABS_BASE_URL}/v1/text-to-speech/{voice_id}."""

from __future__ import annotations

import os
from urllib.parse import quote

from pipeline.errors import InputError
from pipeline.providers.speech import post_for_audio

DEFAULT_BASE = "https://api.elevenlabs.io"
DEFAULT_MODEL = "eleven_multilingual_v2"
DEFAULT_VOICE = "21m00Tcm4TlvDq8ikWAM"  # the documented default voice, "Rachel"
OUTPUT_FORMAT = "mp3_44100_128"


def synthesize(text: str, voice: str | None = None, model: str | None = None) -> tuple[bytes, str]:
    """Speak `text`; returns (MP3 bytes, file extension)."""
    key = os.environ.get("ELEVENLABS_API_KEY")
    if not key:
        raise InputError("--tts elevenlabs: ELEVENLABS_API_KEY is not set")
    base = os.environ.get("ELEVENLABS_BASE_URL") or DEFAULT_BASE
    path = f"v1/text-to-speech/{quote(voice or DEFAULT_VOICE, safe='')}"
    body = {"text": text, "model_id": model or DEFAULT_MODEL}
    headers = {"xi-api-key": key, "Accept": "audio/mpeg"}
    audio = post_for_audio(base, path, headers, body, "elevenlabs speech", key, "ELEVENLABS_API_KEY",
                           params={"output_format": OUTPUT_FORMAT})
    return audio, ".mp3"
