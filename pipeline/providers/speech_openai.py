"""OpenAI text to speech: POST {OPENAI_BASE_URL}/audio/speech
(https://platform.openai.com/docs/api-reference/audio/createSpeech). The input is at most
4096 characters: longer text is split at sentence ends, each part spoken, and the parts
joined into one WAV. OPENAI_BASE_URL is speech's alone; Sora video has its own variable."""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

from pipeline.errors import InputError
from pipeline.providers.speech import post_for_audio

DEFAULT_BASE = "https://api.openai.com/v1"
DEFAULT_MODEL = "gpt-4o-mini-tts"
DEFAULT_VOICE = "alloy"
MAX_INPUT = 4096  # characters per request (createSpeech: "The maximum length is 4096 characters")


def split_text(text: str, limit: int = MAX_INPUT) -> list[str]:
    """`text` in parts of at most `limit` characters, cut at sentence ends (at spaces when
    one sentence is longer than the limit)."""
    if len(text) <= limit:
        return [text]
    parts: list[str] = []
    current = ""
    for sentence in re.split(r"(?<=[.!?…])\s+", text):
        pieces = [sentence]
        if len(sentence) > limit:
            pieces, line = [], ""
            for word in sentence.split(" "):
                if line and len(line) + 1 + len(word) > limit:
                    pieces.append(line)
                    line = word
                else:
                    line = f"{line} {word}" if line else word
            pieces.append(line)
        for piece in pieces:
            if current and len(current) + 1 + len(piece) > limit:
                parts.append(current)
                current = piece
            else:
                current = f"{current} {piece}" if current else piece
    if current:
        parts.append(current)
    return parts


def _join_wavs(parts: list[bytes]) -> bytes:
    """One WAV of the parts in order (ffmpeg's concat filter: the parts' headers may differ)."""
    import ffmpeg

    from pipeline.ffmpeg import graph_argv, media_path, run_ffmpeg_quiet

    with tempfile.TemporaryDirectory(prefix="reelforge-tts-") as tmp:
        inputs = []
        for i, data in enumerate(parts):
            p = Path(tmp) / f"{i}.wav"
            p.write_bytes(data)
            inputs.append(ffmpeg.input(media_path(p)).audio)
        out = Path(tmp) / "joined.wav"
        node = ffmpeg.concat(*inputs, v=0, a=1).output(media_path(out), acodec="pcm_s16le")
        run_ffmpeg_quiet(graph_argv(node), "openai speech: joining the parts")
        return out.read_bytes()


def synthesize(text: str, voice: str | None = None, model: str | None = None) -> tuple[bytes, str]:
    """Speak `text`; returns (WAV bytes, file extension)."""
    key = os.environ.get("OPENAI_API_KEY")
    if not key:
        raise InputError("--tts openai: OPENAI_API_KEY is not set")
    base = os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE
    parts = []
    for part in split_text(text):
        body = {"model": model or DEFAULT_MODEL, "voice": voice or DEFAULT_VOICE, "input": part,
                "response_format": "wav"}
        parts.append(post_for_audio(base, "audio/speech", {"Authorization": f"Bearer {key}"}, body,
                                    "openai speech", key, "OPENAI_API_KEY"))
    return (parts[0] if len(parts) == 1 else _join_wavs(parts)), ".wav"
