"""Keys never leak: servers that echo every credential in every field and error body,
then every byte of CLI output and of the whole cache is searched for each secret and for
each segment of each Kling token the client sent."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator

import pytest

from tests.conftest import run_cli
from tests.fake_echo import EchoKling, EchoSora
from tests.fake_http import ScriptedServer
from tests.providerkit import provider_env, served  # noqa: F401 (fixtures)


@pytest.fixture
def echo_kling(served: Path) -> Iterator[EchoKling]:
    server = EchoKling(served).start()
    yield server
    server.stop()


@pytest.fixture
def echo_sora(served: Path) -> Iterator[EchoSora]:
    server = EchoSora(served).start()
    yield server
    server.stop()


def leaks(secrets: set[str], texts: list[str], cache: Path) -> list[str]:
    """Each secret found, with where."""
    found = []
    blobs = [("output", t.encode()) for t in texts]
    blobs += [(str(p), p.read_bytes()) for p in cache.rglob("*") if p.is_file()]
    for secret in sorted(s for s in secrets if len(s) >= 6):
        for where, blob in blobs:
            if secret.encode() in blob:
                found.append(f"{secret[:6]}… in {where}")
    return found


def tokens_sent(server: EchoKling) -> set[str]:
    out: set[str] = set()
    for entry in server.log:
        token = entry.headers.get("authorization", "").removeprefix("Bearer ")
        if token:
            out |= {token, *token.split(".")}
    return out


def test_kling_credentials_never_leak(echo_kling: EchoKling, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    env = {"KLING_API_BASE": echo_kling.url, "KLING_ACCESS_KEY": echo_kling.access,
           "KLING_SECRET_KEY": echo_kling.secret, "REELFORGE_POLL_INTERVAL": "0.02", "REELFORGE_CACHE": str(cache)}
    outputs = []

    def gen(prompt: str, name: str, **more: str) -> int:
        r = run_cli("generate", "--provider", "kling", "--model", "kling-v2-5-turbo", "--prompt", prompt,
                    "-o", str(tmp_path / name), env={**env, **more})
        outputs.extend([r.stdout, r.stderr])
        return r.returncode

    assert gen("a kite over the sea", "ok.mp4") == 0  # ids, request ids, messages all echo the keys
    assert gen("[fail] a kite", "fail.mp4") == 1
    echo_kling.echo_status = True
    assert gen("a kite at dusk", "status.mp4") == 1  # an unknown status naming the keys
    echo_kling.echo_status = False
    # an error body that puts the secret right where a 300-character cut falls
    body = ("x" * 285 + echo_kling.secret + " " + echo_kling.access).encode()
    echo_kling.inject("POST", "/v1/videos/text2video", 403, {"Content-Type": "text/plain"}, body)
    assert gen("a kite at noon", "cut.mp4") == 1
    bad = "bad-secret-key-never-shown-0123456789"
    assert gen("a kite again", "bad.mp4", KLING_SECRET_KEY=bad) == 2
    assert "***" in "".join(outputs)  # the echoes were there, and were masked
    secrets = {echo_kling.access, echo_kling.secret, bad} | tokens_sent(echo_kling)
    assert len(tokens_sent(echo_kling)) >= 4  # a token and its three segments at least
    assert leaks(secrets, outputs, cache) == []
    records = list((cache / "jobs").glob("*.json"))
    assert records
    for rec in records:
        data = json.loads(rec.read_text())
        assert not {"headers", "authorization", "token"} & {k.lower() for k in data}


def test_sora_credentials_never_leak(echo_sora: EchoSora, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    env = {"REELFORGE_SORA_BASE_URL": echo_sora.url, "OPENAI_BASE_URL": echo_sora.url,
           "OPENAI_API_KEY": echo_sora.key, "REELFORGE_POLL_INTERVAL": "0.02", "REELFORGE_CACHE": str(cache)}
    outputs = []

    def gen(prompt: str, name: str) -> int:
        r = run_cli("generate", "--provider", "sora", "--prompt", prompt, "-o", str(tmp_path / name), env=env)
        outputs.extend([r.stdout, r.stderr])
        return r.returncode

    assert gen("a kite over the sea", "ok.mp4") == 0
    assert gen("[fail] a kite", "fail.mp4") == 1
    echo_sora.echo_status = True
    assert gen("a kite at dusk", "status.mp4") == 1
    echo_sora.echo_status = False
    body = ("y" * 290 + echo_sora.key).encode()
    echo_sora.inject("POST", "/v1/videos", 500, {"Content-Type": "text/plain"}, body, times=10)
    assert gen("a kite at noon", "cut.mp4") == 1
    assert leaks({echo_sora.key}, outputs, cache) == []


def test_speech_that_is_not_audio_is_refused_and_not_cached(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pipeline.errors import ProviderError
    from pipeline.providers.speech import speech_dir, synthesize

    key = "sk-speech-secret-0123456789abcdef"
    page = json.dumps({"echo": f"Bearer {key}", "note": "this is not audio"}).encode()
    with ScriptedServer([(200, {"content-type": "application/json"}, page)]) as srv:
        monkeypatch.setenv("OPENAI_API_KEY", key)
        monkeypatch.setenv("OPENAI_BASE_URL", srv.url + "/v1")
        with pytest.raises(ProviderError) as info:
            synthesize("Hello there.", provider="openai")
    assert "not audio" in str(info.value) and key not in str(info.value)
    assert list(speech_dir().iterdir()) == []
    # a body labelled audio that is not: refused as well
    with ScriptedServer([(200, {"content-type": "audio/wav"}, page)]) as srv:
        monkeypatch.setenv("OPENAI_BASE_URL", srv.url + "/v1")
        with pytest.raises(ProviderError, match="not WAV"):
            synthesize("Hello again.", provider="openai")
    assert list(speech_dir().iterdir()) == []


def test_redaction_survives_truncation() -> None:
    from pipeline.providers.redaction import redact, register_secret

    secret = "Zq9-very-secret-value-4242"
    register_secret(secret)
    text = "error: " + "z" * 20 + secret
    cut = redact(text, 35)
    assert secret[:8] not in cut and "***" in cut
    token = "eyJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJhYmMxMjM0NTYifQ.c2lnbmF0dXJlLXBhcnQtMTIzNDU2"
    assert redact(f"id {token} end") == "id *** end"  # a JWT is recognised by its shape
    register_secret(token)
    for seg in token.split("."):
        assert seg not in redact(f"only the part {seg} here")
    assert redact("job sk-abcdefghijklmnop1234 failed") == "job *** failed"
