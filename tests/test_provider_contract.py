"""One contract, every video provider: each runs against a real HTTP server on 127.0.0.1
that speaks its documented protocol (kling, fal, replicate, sora) or offline (local).

Covered for each: the full cycle; one 429 and one 500, then success; a failed job; a
refused key; an interrupted run resumed with exactly one submission; the budget refusal;
continue_from. The keys never appear in output, logs, caches or reports."""

from __future__ import annotations

import base64
import signal
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from tests.conftest import run_cli
from tests.fake_fal import FakeFal
from tests.fake_http import clip_frames, image_difference, run_cli_bg, wait_for
from tests.fake_kling import FakeKling
from tests.fake_replicate import FakeReplicate
from tests.fake_sora import FakeSora
from tests.providerkit import provider_env, served, sha  # noqa: F401 (fixtures)


@dataclass
class Harness:
    name: str
    model: str
    server: Any = None
    env: dict[str, str] = field(default_factory=dict)
    secrets: list[str] = field(default_factory=list)
    key_env: str = ""
    submit_path: str = ""  # POST prefix of a submission
    poll_path: str = ""  # GET prefix of a status check
    image_of: Callable[[dict[str, Any]], bytes | None] = lambda s: None

    def submissions(self) -> int:
        return len(self.server.requests("POST", self.submit_path)) if self.server else 0


def _data_uri(value: Any) -> bytes | None:
    if isinstance(value, str) and value.startswith("data:"):
        return base64.b64decode(value.partition(",")[2])
    return None


def _kling(clip: Path) -> Harness:
    s = FakeKling(clip).start()
    return Harness("kling", "kling-v2-5-turbo", s, {"KLING_API_BASE": s.url, "KLING_ACCESS_KEY": s.access,
                                                     "KLING_SECRET_KEY": s.secret},
                   [s.access, s.secret], "KLING_SECRET_KEY", "/v1/videos/", "/v1/videos/")


def _fal(clip: Path) -> Harness:
    s = FakeFal(clip).start()
    return Harness("fal", "kling-v2-6", s, {"FAL_QUEUE_URL": s.url, "FAL_KEY": s.key}, [s.key], "FAL_KEY",
                   "/fal-ai/kling-video/", "/fal-ai/kling-video/requests/",
                   lambda sub: _data_uri(sub.get("start_image_url")))


def _replicate(clip: Path) -> Harness:
    s = FakeReplicate(clip).start()
    return Harness("replicate", "kling-v2-6", s, {"REPLICATE_BASE_URL": s.url, "REPLICATE_API_TOKEN": s.token},
                   [s.token], "REPLICATE_API_TOKEN", "/v1/models/", "/v1/predictions/",
                   lambda sub: _data_uri(sub.get("start_image")))


def _sora(clip: Path) -> Harness:
    s = FakeSora(clip).start()
    return Harness("sora", "sora-2", s, {"REELFORGE_SORA_BASE_URL": s.url, "OPENAI_API_KEY": s.key}, [s.key],
                   "OPENAI_API_KEY", "/v1/videos", "/v1/videos/")


def _local(clip: Path) -> Harness:
    return Harness("local", "kling-v2-5-turbo")


MAKERS = {"kling": _kling, "fal": _fal, "replicate": _replicate, "sora": _sora, "local": _local}


@pytest.fixture(params=list(MAKERS))
def provider(request: pytest.FixtureRequest, served: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Harness]:
    h = MAKERS[request.param](served)
    for k, v in {**h.env, "REELFORGE_POLL_INTERVAL": "0.02"}.items():
        monkeypatch.setenv(k, v)
    yield h
    if h.server:
        h.server.stop()


def remote(h: Harness) -> None:
    if h.server is None:
        pytest.skip("local renders offline: there is no server to misbehave")


def gen(h: Harness, prompt: str, out: Path, *extra: str, env: dict[str, str] | None = None) -> Any:
    return run_cli("generate", "--provider", h.name, "--model", h.model, "--prompt", prompt, *extra,
                   "-o", str(out), env=env)


def no_secret_anywhere(h: Harness, texts: list[str], cache: Path) -> None:
    blobs = [t.encode() for t in texts] + [p.read_bytes() for p in cache.rglob("*") if p.is_file()]
    for secret in h.secrets:
        assert not any(secret.encode() in b for b in blobs), f"{h.name}: a key reached output or the cache"


def test_full_cycle(provider: Harness, served: Path, tmp_path: Path) -> None:
    out = tmp_path / "shot one.mp4"
    r = gen(provider, "a kite over the sea", out)
    assert r.returncode == 0, r.stderr
    if provider.server:
        assert sha(out) == sha(served) and provider.submissions() == 1
        assert not [e for e in provider.server.log if e.path.startswith("/cdn/") and e.headers.get("authorization")]
    else:
        from pipeline.model.media import probe

        assert (probe(out).v.width, probe(out).v.height) == (1280, 720)
    no_secret_anywhere(provider, [r.stdout, r.stderr], tmp_path / "cache")


def test_429_and_500_then_success(provider: Harness, served: Path, tmp_path: Path) -> None:
    remote(provider)
    provider.server.inject("POST", provider.submit_path, 429, {"Retry-After": "0"})
    provider.server.inject("GET", provider.poll_path, 500)
    r = gen(provider, "waves on rocks", tmp_path / "w.mp4")
    assert r.returncode == 0, r.stderr
    statuses = [e.status for e in provider.server.log]
    assert 429 in statuses and 500 in statuses
    assert provider.submissions() == 2  # the refused one and the accepted one
    assert len(provider.server.submissions) == 1 and sha(tmp_path / "w.mp4") == sha(served)


def test_failed_job(provider: Harness, tmp_path: Path) -> None:
    remote(provider)
    out = tmp_path / "f.mp4"
    r = gen(provider, "[fail] a scene", out)
    assert r.returncode == 1, r.stderr
    errors = [line for line in r.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "failed" in errors[0] and "Traceback" not in r.stderr
    assert not out.exists() and not [p for p in tmp_path.iterdir() if "partial" in p.name]
    no_secret_anywhere(provider, [r.stdout, r.stderr], tmp_path / "cache")


def test_refused_key(provider: Harness, tmp_path: Path) -> None:
    remote(provider)
    bad = "refused-key-never-shown-0123456789abcdef"
    r = gen(provider, "a kite", tmp_path / "k.mp4", env={provider.key_env: bad})
    assert r.returncode == 2, r.stderr
    assert provider.key_env in r.stderr and bad not in r.stderr + r.stdout
    assert provider.server.submissions == [] and not (tmp_path / "k.mp4").exists()


def test_interrupted_run_resumes_with_one_submission(provider: Harness, served: Path, tmp_path: Path) -> None:
    remote(provider)
    out = tmp_path / "held.mp4"
    args = ("generate", "--provider", provider.name, "--model", provider.model, "--prompt", "[hold] a slow shot",
            "-o", str(out))
    proc = run_cli_bg(*args, env={})
    wait_for(lambda: len(provider.server.requests("GET", provider.poll_path)) >= 2, 60)
    proc.send_signal(signal.SIGKILL)  # a crash: nothing gets to clean up
    proc.communicate(timeout=20)
    assert not out.exists()
    provider.server.release()
    r = run_cli(*args)
    assert r.returncode == 0, r.stderr
    assert "resuming" in r.stderr
    assert len(provider.server.submissions) == 1 and sha(out) == sha(served)


def test_budget_refusal(provider: Harness, tmp_path: Path) -> None:
    remote(provider)
    r = gen(provider, "a kite", tmp_path / "b.mp4", "--budget", "0.01")
    assert r.returncode == 2, r.stderr
    assert "--budget" in r.stderr and "nothing was submitted" in r.stderr
    assert provider.server.log == [] and not (tmp_path / "b.mp4").exists()


def test_continue_from(provider: Harness, served: Path, tmp_path: Path) -> None:
    from pipeline.model.clips import empty_timeline
    from pipeline.progress import Reporter
    from pipeline.run.stage import StageContext
    from stages.generate import GenerateParams, GenerateStage

    shot = {"provider": provider.name, "model": provider.model}
    params = GenerateParams.model_validate({"shots": [
        {"id": "a", "prompt": "a hiker walks", **shot},
        {"id": "b", "prompt": "the hiker keeps walking", "continue_from": "a", **shot}]})
    tl = GenerateStage().apply(empty_timeline(), params, StageContext(reporter=Reporter(quiet=True),
                                                                      base_dir=tmp_path))
    assert [c.id for c in tl.video] == ["a", "b"]
    assert [p["provider"] for p in tl.provenance] == [provider.name] * 2
    if provider.server is None:
        return
    first, last = clip_frames(served)
    if provider.name in ("kling", "sora"):
        (vs_last, vs_first), = provider.server.reference_diffs
    else:
        image = provider.image_of(provider.server.submissions[1])
        assert image is not None and provider.image_of(provider.server.submissions[0]) is None
        vs_last, vs_first = image_difference(image, last), image_difference(image, first)
    assert vs_last < 3.0 < vs_first  # the second shot starts on the first one's last frame
