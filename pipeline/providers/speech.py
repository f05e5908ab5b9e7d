"""Speech synthesis by provider name (local, openai, elevenlabs), cached by text, voice,
provider and model: a repeated line costs nothing and needs no network."""

from __future__ import annotations

import hashlib
import json
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.files import atomic_output
from pipeline.errors import InputError, ProviderError
from pipeline.files import cache_dir, write_cache_file
from pipeline.providers.http import make_client, redact, register_secret, request

PROVIDERS = ("local", "openai", "elevenlabs")
CACHE_VERSION = 1
# Local speech costs nothing to redo: its own version, so a change to it never discards
# paid-for lines. 2: word timings spelled as the script wrote them.
LOCAL_VERSION = 2
SPEECH_ATTEMPTS = 4
SPEECH_MAX_WAIT = 60.0  # seconds: the longest Retry-After a speech request waits for


@dataclass(frozen=True)
class Speech:
    """A synthesised line: its audio file and word timings (seconds from the file's start)."""

    path: Path
    words: list[dict]
    provider: str
    voice: str


def speech_dir() -> Path:
    return cache_dir("speech")


def speech_key(text: str, provider: str, voice: str | None, model: str | None) -> str:
    blob = json.dumps({"text": text, "provider": provider, "voice": voice or "", "model": model or "",
                       "v": CACHE_VERSION if provider != "local" else f"{CACHE_VERSION}.{LOCAL_VERSION}"},
                      sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:32]


def synthesize(text: str, provider: str = "local", voice: str | None = None, model: str | None = None) -> Speech:
    """Speak one line with a provider, from the cache when it was spoken before."""
    text = " ".join(text.split())
    if not text:
        raise InputError("voiceover: a script line has no text")
    if provider not in PROVIDERS:
        raise InputError(f"--tts {provider}: unknown speech provider; use {', '.join(PROVIDERS)}")
    key = speech_key(text, provider, voice, model)
    meta = speech_dir() / f"{key}.json"
    if meta.exists():
        try:
            info = json.loads(meta.read_text())
            path = speech_dir() / info["file"]
            if path.exists():
                return Speech(path, info["words"], provider, info.get("voice", voice or ""))
        except (OSError, ValueError, KeyError):
            pass
    if provider == "local":
        from pipeline.providers import speech_local

        pcm, rate, words = speech_local.synthesize(text, voice)
        path = speech_dir() / f"{key}.wav"
        with atomic_output(path) as tmp:
            with wave.open(str(tmp), "wb") as w:
                w.setnchannels(1)
                w.setsampwidth(2)
                w.setframerate(rate)
                w.writeframes(pcm)
        used_voice = voice or speech_local.DEFAULT_VOICE
    else:
        mod = __import__(f"pipeline.providers.speech_{provider}", fromlist=["synthesize"])
        audio, ext = mod.synthesize(text, voice, model)
        path = speech_dir() / f"{key}{ext}"
        with atomic_output(path) as tmp:
            Path(tmp).write_bytes(audio)
        used_voice = voice or mod.DEFAULT_VOICE
        words = estimate_words(text, str(path))
    write_cache_file(meta, json.dumps({"file": path.name, "words": words, "voice": used_voice, "text": text}))
    return Speech(path, words, provider, used_voice)


def estimate_words(text: str, audio_path: str) -> list[dict]:
    """Word timings for audio without word events: the words share the audible span in
    proportion to their length (good enough to place captions)."""
    from pipeline.analysis.activity import audible_span

    span = audible_span(audio_path)
    tokens = text.split()
    if not tokens or span is None:
        return []
    start, end = span
    weights = [len(t) + 1 for t in tokens]
    total = sum(weights)
    words, t = [], start
    for tok, w in zip(tokens, weights):
        d = (end - start) * w / total
        words.append({"text": tok, "start": round(t, 4), "end": round(t + d, 4)})
        t += d
    return words


def _speech_retryable(response: Any) -> bool:
    return response.status_code == 429 or response.status_code >= 500


def _api_message(response: Any) -> str:
    """The error text an API put in its body, short."""
    try:
        body = response.json()
    except ValueError:
        return redact(response.text.strip(), 200)
    if isinstance(body, dict):
        err = body.get("error") or body.get("detail") or body
        if isinstance(err, dict):
            return redact(str(err.get("message") or err.get("status") or err), 200)
        return redact(str(err), 200)
    return redact(str(body), 200)


# The first bytes of each audio format the speech APIs are asked for.
_AUDIO_MAGIC = (b"RIFF", b"ID3", b"\xff\xfb", b"\xff\xf3", b"\xff\xf2", b"OggS", b"fLaC")


def audio_body(resp: Any, what: str) -> bytes:
    """The audio a 200 answer carries, after checking it is audio (by its media type and
    its first bytes): an error page or a JSON echo is a ProviderError and is never cached."""
    ctype = resp.headers.get("content-type", "").split(";")[0].strip().lower()
    if not ctype.startswith("audio/"):
        raise ProviderError(f"{what}: the server answered with {ctype or 'no media type'}, not audio "
                            f"({redact(resp.text, 120) if ctype.startswith(('text/', 'application/json')) else 'binary'})")
    data = resp.content
    if not data:
        raise ProviderError(f"{what}: the server returned no audio")
    if not data.startswith(_AUDIO_MAGIC):
        raise ProviderError(f"{what}: the answer says {ctype} but is not WAV, MP3, Ogg or FLAC audio")
    return data


def post_for_audio(
    base: str,
    path: str,
    headers: dict[str, str],
    body: dict[str, Any],
    what: str,
    key: str,
    key_env: str,
    params: dict[str, str] | None = None,
    timeout: float = 120.0,
) -> bytes:
    """POST `body` as JSON to `base`/`path` of a remote speech API and return the audio
    bytes. 429 and 5xx answers and connection errors are retried (shared HTTP helpers); a
    refused key (401/403) is one clear error naming `key_env`, which is never shown."""
    register_secret(key)
    with make_client(base, timeout=timeout) as client:
        resp = request(client, "POST", path, label=what, retryable=_speech_retryable,
                       attempts=SPEECH_ATTEMPTS, max_wait=SPEECH_MAX_WAIT,
                       headers=headers, json=body, params=params)
    if resp.status_code == 200:
        return audio_body(resp, what)
    if resp.status_code in (401, 403):
        raise ProviderError(f"{what}: the API key was refused (HTTP {resp.status_code}: "
                            f"{_api_message(resp)}); check {key_env}")
    if _speech_retryable(resp):
        raise ProviderError(f"{what}: gave up after {SPEECH_ATTEMPTS} attempts "
                            f"(HTTP {resp.status_code}: {_api_message(resp)})")
    raise ProviderError(f"{what}: request refused (HTTP {resp.status_code}: {_api_message(resp)})")
