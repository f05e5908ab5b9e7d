"""The sora provider against a real HTTP server on 127.0.0.1 speaking the Videos API."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.fake_http import run_cli_bg, wait_for
from tests.fake_sora import FakeSora
from tests.providerkit import invoke, provider_env, served, sha, sora  # noqa: F401 (fixtures)


def leftovers(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if "partial" in p.name]


def test_submit_poll_download(sora: FakeSora, served: Path, tmp_path: Path) -> None:
    out = tmp_path / "shot [1], 'dawn' ü.mp4"
    r = run_cli("generate", "--provider", "sora", "--model", "sora-2-pro", "--prompt", "a lighthouse at dawn",
                "--duration", "8", "--size", "1024x1792", "-o", str(out))
    assert r.returncode == 0, r.stderr
    assert sha(out) == sha(served)
    assert len(sora.submissions) == 1
    sub = sora.submissions[0]
    assert (sub["model"], sub["prompt"], sub["seconds"], sub["size"]) == ("sora-2-pro", "a lighthouse at dawn", "8", "1024x1792")
    assert sub["input_reference"] is False
    vid = sub["id"]
    assert len(sora.requests("GET", f"/v1/videos/{vid}/content")) == 1
    assert len([e for e in sora.requests("GET", f"/v1/videos/{vid}") if e.path == f"/v1/videos/{vid}"]) == sora.polls
    assert sora.key not in r.stderr + r.stdout
    assert r.stdout == ""
    assert "$2.00" not in r.stderr and "$4.00" in r.stderr  # 8 s at sora-2-pro's 1024p price
    # a repeated request is served from the cache: nothing is submitted again
    r2 = invoke("generate", "--provider", "sora", "--model", "sora-2-pro", "--prompt", "a lighthouse at dawn",
                "--duration", "8", "--size", "1024x1792", "-o", str(tmp_path / "again.mp4"))
    assert r2.exit_code == 0, r2.output
    assert len(sora.submissions) == 1 and sha(tmp_path / "again.mp4") == sha(served)


def test_poll_after_header_is_honoured(sora: FakeSora, served: Path) -> None:
    from pipeline.progress import Reporter
    from pipeline.providers.base import make_request
    from pipeline.providers.generate import generate_clip

    sora.poll_after_ms = 40
    req = make_request("a kite over the sea", "sora-2", 4, "16:9", provider="sora")
    started = time.monotonic()
    path, prov = generate_clip(req, "sora", Reporter(quiet=True), poll_interval=30.0)
    assert time.monotonic() - started < 10  # the 30 s interval was overridden by the header
    polls = [e.at for e in sora.requests("GET", "/v1/videos/") if not e.path.endswith("/content")]
    assert len(polls) == sora.polls
    assert min(b - a for a, b in zip(polls, polls[1:])) >= 0.035
    assert sha(path) == sha(served) and prov["job_id"] == sora.submissions[0]["id"]


def test_429_then_500_then_dropped_connection_are_retried(sora: FakeSora, served: Path) -> None:
    from pipeline.progress import Reporter
    from pipeline.providers.base import make_request
    from pipeline.providers.generate import generate_clip

    sora.inject("POST", "/v1/videos", 429, {"Retry-After": "1"},
                {"error": {"message": "Rate limit reached for requests", "type": "requests", "code": "rate_limit_exceeded"}})
    sora.inject("GET", "/v1/videos/", 500, body={"error": {"message": "The server had an error", "code": None}})
    sora.inject("GET", "/v1/videos/", 0)  # connection dropped without an answer
    req = make_request("a kite over the sea", "sora-2", 4, "16:9", provider="sora")
    path, _ = generate_clip(req, "sora", Reporter(quiet=True))
    posts = sora.requests("POST", "/v1/videos")
    assert [p.status for p in posts] == [429, 200]
    assert posts[1].at - posts[0].at >= 0.95  # Retry-After: 1 was honoured
    assert len(sora.submissions) == 1
    assert sha(path) == sha(served)


def test_failed_job_reports_and_writes_nothing(sora: FakeSora, tmp_path: Path) -> None:
    out = tmp_path / "fail.mp4"
    r = run_cli("generate", "--provider", "sora", "--prompt", "[fail] forbidden scene", "-o", str(out))
    assert r.returncode == 1
    assert "blocked by our moderation system" in r.stderr and "Traceback" not in r.stderr
    assert not out.exists() and leftovers(tmp_path) == []


def test_bad_key_is_rejected_and_never_shown(sora: FakeSora, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bad = "sk-wrong-key-DO-NOT-PRINT-4242"
    out = tmp_path / "x.mp4"
    r = run_cli("generate", "--provider", "sora", "--prompt", "a kite", "-o", str(out),
                env={"OPENAI_API_KEY": bad})
    assert r.returncode == 2
    assert "OPENAI_API_KEY" in r.stderr and "Incorrect API key" in r.stderr
    assert bad not in r.stderr + r.stdout and "***" in r.stderr  # the server echoed it; we redacted it
    assert not out.exists()
    assert not any(bad in p.read_text(errors="ignore") for p in (tmp_path / "cache").rglob("*") if p.is_file())
    monkeypatch.setenv("OPENAI_API_KEY", "")
    r = invoke("generate", "--provider", "sora", "--prompt", "a kite", "-o", str(out))
    assert r.exit_code == 2 and "OPENAI_API_KEY: not set" in r.output


def test_interrupted_run_resumes_the_same_job(sora: FakeSora, served: Path, tmp_path: Path) -> None:
    out = tmp_path / "held.mp4"
    args = ("generate", "--provider", "sora", "--prompt", "[hold] a slow shot", "-o", str(out))
    proc = run_cli_bg(*args, env={})
    wait_for(lambda: len(sora.requests("GET", "/v1/videos/")) >= 2)
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=20)
    assert proc.returncode == 130
    assert not out.exists() and leftovers(tmp_path) == []
    sora.release()
    r = run_cli(*args)
    assert r.returncode == 0, r.stderr
    assert "resuming job" in r.stderr
    assert len(sora.submissions) == 1 and len(sora.requests("POST", "/v1/videos")) == 1
    assert sha(out) == sha(served)


def test_remix_of_a_finished_video(sora: FakeSora, served: Path, tmp_path: Path) -> None:
    from pipeline.progress import Reporter
    from pipeline.providers.base import make_request
    from pipeline.providers.generate import generate_clip

    generate_clip(make_request("a red kite", "sora-2", provider="sora"), "sora", Reporter(quiet=True))
    src = sora.submissions[0]["id"]
    out = tmp_path / "remix.mp4"
    r = invoke("generate", "--provider", "sora", "--prompt", "make the kite blue", "--remix", src, "-o", str(out))
    assert r.exit_code == 0, r.output
    assert sora.submissions[1]["remix_of"] == src and sora.submissions[1]["prompt"] == "make the kite blue"
    assert sora.videos[sora.submissions[1]["id"]]["remixed_from_video_id"] == src
    assert sha(out) == sha(served)


@pytest.mark.parametrize("args, says", [
    (("--aspect", "1:1"), "reframe"),
    (("--negative-prompt", "blur"), "--negative-prompt"),
    (("--mode", "pro"), "no quality modes"),
    (("--duration", "5"), "4, 8, 12"),
    (("--size", "1792x1024"), "1280x720"),
    (("--seed", "3"), "--seed"),
])
def test_options_sora_cannot_honour(sora: FakeSora, tmp_path: Path, args: tuple[str, ...], says: str) -> None:
    out = tmp_path / "x.mp4"
    r = invoke("generate", "--provider", "sora", "--prompt", "p", *args, "-o", str(out))
    assert r.exit_code == 2, r.output
    assert says in r.output
    assert sora.log == [] and not out.exists()


def test_sora_is_honest_about_the_official_endpoint(sora: FakeSora, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Video goes to REELFORGE_SORA_BASE_URL only; OPENAI_BASE_URL stays speech's; a
    model name unknown to the catalog passes through to a non-OpenAI service."""
    monkeypatch.delenv("REELFORGE_SORA_BASE_URL")
    monkeypatch.setenv("OPENAI_BASE_URL", sora.url)  # speech's base: never used for video
    r = invoke("generate", "--provider", "sora", "--prompt", "p", "-o", str(tmp_path / "x.mp4"))
    assert r.exit_code == 2 and "REELFORGE_SORA_BASE_URL" in r.output and "2026-09-24" in r.output
    assert sora.log == []
    monkeypatch.setenv("REELFORGE_SORA_BASE_URL", sora.url)
    r = invoke("generate", "--provider", "sora", "--model", "wan-2.5-t2v", "--prompt", "p", "-o", str(tmp_path / "y.mp4"))
    assert r.exit_code == 2, r.output  # this service only has sora models: it refuses, naming it
    assert "wan-2.5-t2v" in r.output
    posts = sora.requests("POST", "/v1/videos")
    assert len(posts) == 1 and sora.submissions == []
    r = invoke("doctor")
    assert "2026-09-24" in r.output
