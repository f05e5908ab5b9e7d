"""OpenAI text to speech: POST {OPENAI_BASE_URL}/audio/speech."""

from __future__ import annotations

import os

from pipeline.errors import InputError
from pipeline.providers.speech import post_for_audio

DEFAULT_BASE = "https://api.openai.com/v1"
DEFAULT_MODEL = "gpt-4o-mini-tts"
DEFAULT_VOICE = "alloy"


def synthesize(text: str, voice: str | None = None, model: str | None = None) -> tuple[bytes, str]:
    """Speak `text`; returns (WAV bytes, file extension)."""
    key = os.environ.get("OPENAI_API_KEY")
    if not key:
        raise InputError("--tts openai: OPENAI_API_KEY is not set")
    base = os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE
    body = {"model": model or DEFAULT_MODEL, "voice": voice or DEFAULT_VOICE, "input": text,
            "response_format": "wav"}
    audio = post_for_audio(base, "audio/speech", {"Authorization": f"Bearer {key}"}, body,
                           "openai speech", key, "OPENAI_API_KEY")
    return audio, ".wav"
