"""The kling provider against a real HTTP server on 127.0.0.1 speaking the Kling API
(the server verifies the JWT with PyJWT and checks every field)."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.fake_http import run_cli_bg, wait_for
from tests.fake_kling import FakeKling
from tests.providerkit import kling, provider_env, served, sha  # noqa: F401 (fixtures)


def quiet():  # noqa: ANN201
    from pipeline.progress import Reporter

    return Reporter(quiet=True)


def test_submit_poll_download(kling: FakeKling, served: Path, tmp_path: Path) -> None:
    out = tmp_path / "jacket; 50% off (final).mp4"
    r = run_cli("generate", "--provider", "kling", "--model", "kling-v2-6", "--prompt", "a red jacket in the rain",
                "--negative-prompt", "blur, text", "--aspect", "9:16", "--duration", "10", "--sound", "-o", str(out))
    assert r.returncode == 0, r.stderr
    assert sha(out) == sha(served)
    assert len(kling.submissions) == 1
    sub = kling.submissions[0]
    assert sub["kind"] == "text2video"
    assert {k: sub[k] for k in ("model_name", "prompt", "negative_prompt", "aspect_ratio", "duration", "mode", "sound")} == {
        "model_name": "kling-v2-6", "prompt": "a red jacket in the rain", "negative_prompt": "blur, text",
        "aspect_ratio": "9:16", "duration": "10", "mode": "pro", "sound": "on"}
    assert kling.tokens and all(t["iss"] == kling.access for t in kling.tokens)
    assert all(1795 <= t["exp"] - t["nbf"] <= 1815 for t in kling.tokens)  # now+30 min, now-5 s
    assert kling.cdn_auth_headers == [""]  # no credentials sent to the video host
    assert kling.secret not in r.stderr and kling.access not in r.stderr


def test_rate_limit_and_server_error_once_then_success(kling: FakeKling, served: Path) -> None:
    from pipeline.providers.base import make_request
    from pipeline.providers.generate import generate_clip

    kling.inject("POST", "/v1/videos/text2video", 429, {"Retry-After": "1"},
                 {"code": 1302, "message": "API request too fast", "request_id": "r1", "data": None})
    kling.inject("GET", "/v1/videos/text2video/", 500,
                 body={"code": 5000, "message": "Server internal error", "request_id": "r2", "data": None})
    req = make_request("waves on rocks", "kling-v2-5-turbo", 5, "16:9", provider="kling")
    path, prov = generate_clip(req, "kling", quiet())
    posts = kling.requests("POST", "/v1/videos/text2video")
    assert [p.status for p in posts] == [429, 200]
    assert posts[1].at - posts[0].at >= 0.95
    assert 500 in [e.status for e in kling.requests("GET", "/v1/videos/text2video/")]
    assert len(kling.submissions) == 1 and prov["job_id"] == kling.submissions[0]["task_id"]
    assert sha(path) == sha(served)


def test_failed_task_reports_and_writes_nothing(kling: FakeKling, tmp_path: Path) -> None:
    out = tmp_path / "fail.mp4"
    r = run_cli("generate", "--provider", "kling", "--prompt", "[fail] a scene", "-o", str(out))
    assert r.returncode == 1
    assert "risk control check not passed" in r.stderr and "Traceback" not in r.stderr
    assert not out.exists() and not [p for p in tmp_path.iterdir() if "partial" in p.name]


def test_bad_key(kling: FakeKling, tmp_path: Path) -> None:
    bad = "not-the-secret-key-DO-NOT-PRINT-0123456789"
    out = tmp_path / "x.mp4"
    r = run_cli("generate", "--provider", "kling", "--prompt", "a kite", "-o", str(out), env={"KLING_SECRET_KEY": bad})
    assert r.returncode == 2
    assert "KLING_ACCESS_KEY/KLING_SECRET_KEY: authentication failed" in r.stderr and "code 1000" in r.stderr
    assert bad not in r.stderr + r.stdout and not out.exists()
    assert kling.submissions == []


@pytest.mark.parametrize("setup, prompt, code, says", [
    ("balance", "a kite", 1, "no balance left"),
    ("", "[unsafe] a kite", 2, "content safety"),
])
def test_error_codes_are_explained(kling: FakeKling, setup: str, prompt: str, code: int, says: str) -> None:
    from pipeline.errors import ReelforgeError
    from pipeline.providers.base import make_request
    from pipeline.providers.generate import generate_clip

    if setup == "balance":
        kling.balance = False
    from pipeline.providers.jobs import load_job

    req = make_request(prompt, "kling-v2-5-turbo", provider="kling")
    with pytest.raises(ReelforgeError) as info:
        generate_clip(req, "kling", quiet())
    assert info.value.exit_code == code and says in str(info.value)
    assert load_job("kling", req.digest("kling")) is None  # refused: nothing left to resume
    assert len(kling.requests("POST", "/v1/videos/")) == 1  # refusals like these are not retried


def test_interrupted_run_resumes_the_same_task(kling: FakeKling, served: Path, tmp_path: Path) -> None:
    out = tmp_path / "held.mp4"
    args = ("generate", "--provider", "kling", "--prompt", "[hold] a slow shot", "-o", str(out))
    proc = run_cli_bg(*args, env={})
    wait_for(lambda: len(kling.requests("GET", "/v1/videos/text2video/")) >= 2)
    proc.send_signal(signal.SIGKILL)  # a crash: nothing gets to clean up
    proc.communicate(timeout=20)
    assert not out.exists()
    kling.release()
    r = run_cli(*args)
    assert r.returncode == 0, r.stderr
    assert "resuming task" in r.stderr
    assert len(kling.requests("POST", "/v1/videos/text2video")) == 1
    assert sha(out) == sha(served)


def test_submission_sent_but_never_acknowledged_is_found_again(kling: FakeKling, served: Path) -> None:
    """A crash after the request left but before its answer was recorded: the client
    recorded its external_task_id first and asks the service about it."""
    import httpx

    from pipeline.providers.base import make_request
    from pipeline.providers.generate import generate_clip
    from pipeline.providers.jobs import JobRecord, save_job
    from pipeline.providers.kling import KlingProvider

    req = make_request("a lighthouse", "kling-v2-5-turbo", 5, "16:9", provider="kling")
    ext = "rf-lost-answer-0001"
    provider = KlingProvider()
    kind, body = provider.body(req, ext)
    r = httpx.post(f"{kling.url}/v1/videos/{kind}", json=body, headers=provider._headers())
    assert r.json()["code"] == 0
    save_job(JobRecord(provider="kling", request=req.digest("kling"), base_url=kling.url, kind=kind,
                       external_id=ext, status="pending"))
    path, prov = generate_clip(req, "kling", quiet())
    assert len(kling.submissions) == 1 and prov["job_id"] == kling.submissions[0]["task_id"]
    # asked for by its external_task_id as a query parameter, as Kling documents it
    assert kling.requests("GET", f"/v1/videos/text2video?external_task_id={ext}")
    assert not kling.requests("GET", f"/v1/videos/text2video/{ext}")
    assert sha(path) == sha(served)


@pytest.mark.parametrize("ours", [2, 4])
def test_concurrency_limit_is_respected(kling: FakeKling, tmp_path: Path, ours: int) -> None:
    """Our limit (2) keeps within the account's (2); with ours above the account's (4), the
    service's 1303 answers make shots wait for a free slot instead of failing."""
    from pipeline.run.stage import StageContext
    from pipeline.model.clips import empty_timeline
    from stages.generate import GenerateParams, GenerateStage

    kling.account_limit = 2
    kling.polls = 6
    params = GenerateParams.model_validate({
        "concurrency": {"kling": ours},
        "shots": [{"id": f"s{i}", "prompt": f"shot number {i}", "provider": "kling", "model": "kling-v2-5-turbo",
                   "duration": 5} for i in range(5)]})
    tl = GenerateStage().apply(empty_timeline(), params, StageContext(reporter=quiet(), base_dir=tmp_path))
    assert len(kling.submissions) == 5
    assert kling.max_in_flight == 2
    assert (kling.rejected_1303 == 0) == (ours == 2)
    assert [c.id for c in tl.video] == [f"s{i}" for i in range(5)]
    assert [p["job_id"] for p in tl.provenance] == [
        next(s["task_id"] for s in kling.submissions if s["prompt"] == f"shot number {i}") for i in range(5)]


def test_cfg_scale_only_for_v1_models(kling: FakeKling, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from pipeline.cli.main import cli

    r = CliRunner().invoke(cli, ["generate", "--provider", "kling", "--model", "kling-v2-5-turbo", "--prompt", "a kite",
                                 "--cfg-scale", "0.7", "-o", str(tmp_path / "a.mp4")])
    assert r.exit_code == 0, r.output
    assert "--cfg-scale: kling-v2-5-turbo ignores it" in r.output
    assert "cfg_scale" not in kling.submissions[0]  # the server would have refused it
    from pipeline.providers.base import make_request
    from pipeline.providers.generate import generate_clip

    generate_clip(make_request("a kite", "kling-v1-6", cfg_scale=0.7, mode="pro", provider="kling"), "kling", quiet())
    assert kling.submissions[1]["cfg_scale"] == 0.7 and kling.submissions[1]["mode"] == "pro"


def test_continue_from_sends_the_last_frame(kling: FakeKling, tmp_path: Path) -> None:
    from pipeline.run.stage import StageContext
    from pipeline.model.clips import empty_timeline
    from stages.generate import GenerateParams, GenerateStage

    params = GenerateParams.model_validate({"shots": [
        {"id": "a", "prompt": "a hiker walks", "provider": "kling", "model": "kling-v2-6", "duration": 5},
        {"id": "b", "prompt": "the hiker keeps walking", "provider": "kling", "model": "kling-v2-6", "duration": 5,
         "continue_from": "a"}]})
    tl = GenerateStage().apply(empty_timeline(), params, StageContext(reporter=quiet(), base_dir=tmp_path))
    assert [s["kind"] for s in kling.submissions] == ["text2video", "image2video"]
    assert kling.submissions[1]["prompt"] == "the hiker keeps walking" and "aspect_ratio" not in kling.submissions[1]
    (vs_last, vs_first), = kling.reference_diffs
    assert vs_last < 3.0 < vs_first  # it is the previous shot's last frame, not its first
    assert [c.id for c in tl.video] == ["a", "b"]


# ---- Kling's documented rules: the client refuses before sending, the fake refuses too ----

RULES = [
    # (what the request asks, what the client says)  -- sources in tests/fake_kling.py
    (dict(model="kling-v2-1"), "image only"),  # kling-v2-1 is image-to-video only
    (dict(model="kling-v2-6", camera_control={"type": "simple", "config": {"zoom": 5}}), "camera_control"),
    (dict(model="kling-v1", mode="pro", camera_control={"type": "simple", "config": {"zoom": 5}}), "--mode std"),
    (dict(model="kling-v1", duration=10, camera_control={"type": "simple", "config": {"zoom": 5}}), "--duration 5"),
    (dict(model="kling-v1", camera_control={"type": "simple", "config": {"zoom": 5, "pan": 2}}), "exactly one"),
    (dict(model="kling-v3", duration=16), "3 to 15"),
    (dict(model="kling-v2-6", mode="std", sound=True), "--mode pro"),
]


@pytest.mark.parametrize("ask, says", RULES)
def test_client_refuses_what_kling_documents_as_invalid(kling: FakeKling, ask: dict, says: str) -> None:
    from pipeline.errors import InputError
    from pipeline.providers.base import make_request

    ask = dict(ask)
    model = ask.pop("model")
    with pytest.raises(InputError, match=says):
        make_request("a kite", model, ask.pop("duration", None), provider="kling", **ask)
    assert kling.log == []


def _png(path: Path) -> Path:
    import cv2
    import numpy as np

    img = np.full((400, 400, 3), 120, np.uint8)
    cv2.circle(img, (200, 200), 80, (20, 200, 40), -1)
    cv2.imwrite(str(path), img)
    return path


@pytest.mark.parametrize("ask, says", [
    (dict(model="kling-v2-6", mode="std"), "pro"),  # a last frame needs pro mode
    (dict(model="kling-v2-6", mode="pro", sound=True), "sound"),  # and on v2-6 excludes sound
    (dict(model="kling-v1-6", mode="pro", duration=10), "--duration 5"),  # and 5 s on v1.x
])
def test_image_tail_rules(kling: FakeKling, tmp_path: Path, ask: dict, says: str) -> None:
    from pipeline.errors import InputError
    from pipeline.providers.base import make_request

    first, last = _png(tmp_path / "a.png"), _png(tmp_path / "b.png")
    ask = dict(ask)
    model = ask.pop("model")
    with pytest.raises(InputError, match=says):
        make_request("a kite", model, ask.pop("duration", None), provider="kling", image=str(first),
                     image_tail=str(last), **ask)
    assert kling.log == []


@pytest.mark.parametrize("body, says", [
    ({"model_name": "kling-v2-1"}, "not supported for text2video"),
    ({"model_name": "kling-v2-6", "camera_control": {"type": "simple", "config": {"zoom": 5}}}, "camera_control"),
    ({"model_name": "kling-v1", "camera_control": {"type": "simple", "config": {"zoom": 5, "pan": 1}}}, "exactly one"),
    ({"model_name": "kling-v1", "mode": "pro", "camera_control": {"type": "simple", "config": {"zoom": 5}}},
     "camera_control"),
    ({"model_name": "kling-v2-6", "mode": "std", "sound": "on"}, "pro mode"),
    ({"model_name": "kling-v3", "duration": "16"}, "duration"),
    ({"model_name": "kling-v2-5-turbo", "sound": "on"}, "sound"),
])
def test_fake_kling_refuses_each_documented_rule(kling: FakeKling, body: dict, says: str) -> None:
    import httpx

    from pipeline.providers.kling import KlingProvider

    r = httpx.post(f"{kling.url}/v1/videos/text2video", json={"prompt": "a kite", **body},
                   headers=KlingProvider()._headers())
    assert r.status_code == 400 and r.json()["code"] == 1201 and says in r.json()["message"]
    assert kling.submissions == []


def test_kling_v3_takes_3_to_15_seconds_with_sound(kling: FakeKling) -> None:
    from pipeline.providers.base import make_request
    from pipeline.providers.generate import generate_clip

    req = make_request("a drone shot over a harbour", "kling-v3", 7, "9:16", True, provider="kling")
    assert (req.width, req.height, req.mode) == (720, 1280, "std")
    generate_clip(req, "kling", quiet())
    sub = kling.submissions[0]
    assert (sub["model_name"], sub["duration"], sub["sound"], sub["mode"]) == ("kling-v3", "7", "on", "std")
    pro = make_request("a harbour", "kling-v2-1-master", 5, "16:9", provider="kling")
    assert (pro.width, pro.height) == (1920, 1080)  # the master models deliver 1080p
