"""The model catalog (data shipped in the wheel), `reelforge models`, routing a shot to a
provider, and `reelforge jobs`."""

from __future__ import annotations

import json
import signal
from pathlib import Path
from typing import Iterator

import pytest

from tests.conftest import run_cli
from tests.fake_fal import FakeFal
from tests.fake_http import run_cli_bg, wait_for
from tests.providerkit import invoke, provider_env, served  # noqa: F401 (fixtures)


def test_models_list_and_show_json() -> None:
    r = invoke("models", "list", "--json")
    assert r.exit_code == 0, r.output
    models = {m["name"]: m for m in json.loads(r.output)}
    assert {"kling-v2-5-turbo", "kling-v2-6", "kling-v3", "veo-3.1", "sora-2"} <= set(models)
    v3 = models["kling-v3"]
    assert v3["durations"] == list(range(3, 16)) and v3["sound"] == "optional"
    assert {"kling", "fal", "replicate"} <= set(v3["providers"])
    assert models["kling-v2-6"]["sizes"]["pro"]["9:16"] == "1080x1920"
    r = invoke("models", "show", "kling-v2-6", "--json")
    data = json.loads(r.output)
    assert data["routes"]["fal"]["text2video"] == "fal-ai/kling-video/v2.6/pro/text-to-video"
    assert data["routes"]["replicate"]["model"] == "kwaivgi/kling-v2.6"
    assert data["prices"]["kling"]["as_of"] and data["prices"]["kling"]["source"].startswith("https://")
    r = run_cli("models", "show", "kling-v9")
    assert r.returncode == 2 and "kling-v9" in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_user_models_extend_the_catalog(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "wan.toml").write_text('name = "wan-2.5"\nfamily = "wan"\ndurations = [5]\naspects = ["16:9"]\n'
                                       '[sizes.any]\n"16:9" = "1280x720"\n[routes.fal]\ntext2video = "fal-ai/wan"\n')
    r = run_cli("models", "show", "wan-2.5", "--json", env={"REELFORGE_MODELS": str(tmp_path)})
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["providers"] == ["local", "fal"]
    (tmp_path / "bad.toml").write_text('name = "x"\n')
    r = run_cli("models", "list", env={"REELFORGE_MODELS": str(tmp_path)})
    assert r.returncode == 2 and "bad.toml" in r.stderr


def test_the_catalog_ships_in_the_wheel() -> None:
    text = (Path(__file__).parents[1] / "pyproject.toml").read_text()
    assert "\"pipeline.providers\" = [\"catalog/*.toml\"" in text


@pytest.mark.parametrize("keys, order, expect", [
    ({}, None, "local"),
    ({"FAL_KEY": "k:s"}, None, "fal"),
    ({"FAL_KEY": "k:s", "REPLICATE_API_TOKEN": "r8_x"}, None, "fal"),
    ({"FAL_KEY": "k:s", "REPLICATE_API_TOKEN": "r8_x"}, "replicate,fal", "replicate"),
    ({"KLING_ACCESS_KEY": "a", "KLING_SECRET_KEY": "s", "FAL_KEY": "k:s"}, None, "kling"),
])
def test_a_shot_without_provider_goes_to_the_first_with_keys(monkeypatch: pytest.MonkeyPatch, keys: dict,
                                                              order: str | None, expect: str) -> None:
    from pipeline.providers.routing import CREDENTIALS, choose_provider

    for names in CREDENTIALS.values():
        for name in names:
            monkeypatch.delenv(name, raising=False)
    for k, v in keys.items():
        monkeypatch.setenv(k, v)
    if order:
        monkeypatch.setenv("REELFORGE_PROVIDERS", order)
    assert choose_provider("kling-v2-6") == expect
    assert choose_provider("kling-v1") in ("kling", "local")  # only Kling's own API hosts kling-v1


@pytest.mark.parametrize("args, says", [
    (("--provider", "fal", "--model", "kling-v1"), "not offered there"),
    (("--provider", "fal", "--model", "kling-v2-6", "--mode", "std"), "--mode std"),
    (("--provider", "replicate", "--model", "kling-v2-6", "--cfg-scale", "0.5"), "ignores it"),
    (("--provider", "fal", "--model", "veo-3.1", "--aspect", "1:1"), "16:9, 9:16"),
    (("--provider", "replicate", "--model", "veo-3.1", "--duration", "5"), "4, 6, 8"),
])
def test_gateway_requests_are_checked_against_the_catalog(tmp_path: Path, args: tuple, says: str) -> None:
    # Nothing may be sent: the base URLs point at a closed port.
    r = run_cli("generate", "--prompt", "a kite", *args, "-o", str(tmp_path / "x.mp4"),
                env={"FAL_KEY": "k:s", "REPLICATE_API_TOKEN": "r8_token", "FAL_QUEUE_URL": "http://127.0.0.1:9",
                     "REPLICATE_BASE_URL": "http://127.0.0.1:9"})
    if says == "ignores it":  # a warning, then the unreachable server: the option was dropped first
        assert says in r.stderr
        return
    assert r.returncode == 2 and says in r.stderr, r.stderr
    assert "cannot reach" not in r.stderr and not (tmp_path / "x.mp4").exists()


@pytest.fixture
def fal(served: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeFal]:
    server = FakeFal(served).start()
    monkeypatch.setenv("FAL_QUEUE_URL", server.url)
    monkeypatch.setenv("FAL_KEY", server.key)
    monkeypatch.setenv("REELFORGE_POLL_INTERVAL", "0.02")
    yield server
    server.stop()


def test_jobs_list_and_cancel(fal: FakeFal, tmp_path: Path) -> None:
    args = ("generate", "--provider", "fal", "--model", "kling-v2-6", "--prompt", "[hold] a long shot",
            "-o", str(tmp_path / "x.mp4"))
    proc = run_cli_bg(*args, env={})
    wait_for(lambda: len(fal.requests("GET", "/fal-ai/kling-video/requests/")) >= 1, 60)
    proc.send_signal(signal.SIGINT)  # Ctrl-C never cancels a paid job
    proc.communicate(timeout=30)
    assert proc.returncode == 130 and fal.cancelled == []
    r = invoke("jobs", "list", "--json")
    assert r.exit_code == 0, r.output
    (job,) = json.loads(r.output)
    assert (job["provider"], job["model"], job["state"]) == ("fal", "kling-v2-6", "submitted")
    assert job["id"] == fal.submissions[0]["request_id"]
    r = invoke("jobs", "cancel", job["id"][:6])
    assert r.exit_code == 0, r.output
    assert fal.cancelled == [job["id"]]
    assert json.loads(invoke("jobs", "list", "--json").output) == []
    r = run_cli("jobs", "cancel", "nosuchjob")
    assert r.returncode == 2 and "nosuchjob" in r.stderr


@pytest.fixture
def replicate(served: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator["FakeReplicate"]:
    from tests.fake_replicate import FakeReplicate

    server = FakeReplicate(served).start()
    monkeypatch.setenv("REPLICATE_BASE_URL", server.url)
    monkeypatch.setenv("REPLICATE_API_TOKEN", server.token)
    monkeypatch.setenv("REELFORGE_POLL_INTERVAL", "0.02")
    yield server
    server.stop()


@pytest.mark.parametrize("model, duration, sound, mode", [
    ("kling-v2-5-turbo", 10, None, None),
    ("kling-v2-6", 5, True, None),
    ("kling-v2-6", 10, False, None),
    ("kling-v3", 13, True, None),
    ("veo-3.1", 6, True, "1080p"),
])
def test_every_gateway_model_is_accepted_by_its_documented_schema(fal: FakeFal, replicate, model: str,  # noqa: ANN001
                                                                   duration: int, sound: bool | None,
                                                                   mode: str | None) -> None:
    from pipeline.progress import Reporter
    from pipeline.providers.base import make_request
    from pipeline.providers.generate import generate_clip

    for provider, server in (("fal", fal), ("replicate", replicate)):
        req = make_request("a paper kite", model, duration, "9:16", sound, provider=provider, mode=mode)
        generate_clip(req, provider, Reporter(quiet=True))
        sub = server.submissions[-1]
        assert str(sub["duration"]).rstrip("s") == str(duration)
        if sound is not None:
            assert sub["generate_audio"] is sound
        assert sub["aspect_ratio"] == "9:16"
    assert len(fal.submissions) == len(replicate.submissions) == 1
