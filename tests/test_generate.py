"""The generate stage: pipelines of remote shots (dry run, budget, continuity), option
checks, cost estimates, and the shared HTTP helpers."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.fake_sora import FakeSora
from tests.providerkit import invoke, provider_env, served, sora  # noqa: F401 (fixtures)

PIPELINE = """\
name: continuity
shots:
  - {id: a, prompt: "a hiker on a ridge", provider: sora, model: sora-2, duration: 4, aspect: "16:9"}
  - {id: b, prompt: "the hiker waves", provider: sora, model: sora-2, duration: 4, aspect: "16:9", continue_from: a}
"""


def test_dry_run_budget_and_continuity(sora: FakeSora, tmp_path: Path) -> None:
    spec = tmp_path / "my pipeline.yaml"
    spec.write_text(PIPELINE)
    r = invoke("run", str(spec), "--dry-run")
    assert r.exit_code == 0, r.output
    assert "shot a: sora sora-2 4 s 1280x720  $0.40" in r.output and "shot b:" in r.output
    assert "estimated cost $0.80" in r.output and "expected time" in r.output
    r = invoke("run", str(spec), "--budget", "0.5")
    assert r.exit_code == 2
    assert "--budget 0.50" in r.output and "$0.80" in r.output and "nothing was submitted" in r.output
    assert sora.log == []  # neither the dry run nor the refused run touched the service
    r = run_cli("run", str(spec), "--budget", "1")
    assert r.returncode == 0, r.stderr
    assert [("input_reference" in s and s["input_reference"]) for s in sora.submissions] == [False, True]
    (vs_last, vs_first), = sora.reference_diffs  # the server decoded the uploaded first frame
    assert vs_last < 3.0 < vs_first
    r = invoke("run", str(spec), "--dry-run", "--budget", "0")
    assert r.exit_code == 0, r.output
    shot_lines = [line for line in r.output.splitlines() if line.strip().startswith("shot ")]
    assert len(shot_lines) == 2 and all("cached" in line for line in shot_lines)
    assert "estimated cost $0.00" in r.output


@pytest.mark.parametrize("args, says", [
    (("--provider", "kling", "--model", "kling-v2-6", "--sound", "--mode", "std"), "--mode pro"),
    (("--provider", "kling", "--model", "kling-v1-6", "--cfg-scale", "1.5"), "between 0 and 1"),
    (("--provider", "kling", "--model", "sora-2"), "not a kling model"),
    (("--provider", "kling", "--model", "kling-v2-6", "--image-tail", "tail.png"), "needs --image"),
    (("--provider", "kling", "--model", "kling-v2-6", "--image", "missing.png"), "--image missing.png: no such file"),
    (("--provider", "kling", "--model", "kling-v2-6", "--duration", "4"), "5, 10"),
    (("--provider", "local", "--model", "kling-v2-5-turbo", "--sound"), "silent"),
])
def test_options_a_model_cannot_honour(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: tuple[str, ...],
                                       says: str) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "tail.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    r = invoke("generate", "--prompt", "p", *args, "-o", "x.mp4")
    assert r.exit_code == 2, r.output
    assert says in r.output and not (tmp_path / "x.mp4").exists()


@pytest.mark.parametrize("shots, says", [
    ([{"id": "a", "prompt": "p", "continue_from": "b"}, {"id": "b", "prompt": "q"}], "not an earlier shot"),
    ([{"id": "a", "prompt": "p"}, {"id": "a", "prompt": "q"}], "id used twice"),
    ([{"id": "a", "prompt": "p", "provider": "kling", "model": "kling-v2-6", "seed": 4}], "shot a: --seed"),
])
def test_bad_shots_are_refused_before_anything_runs(tmp_path: Path, shots: list, says: str) -> None:
    from pipeline.errors import InputError
    from pipeline.run.stage import StageContext
    from pipeline.model.clips import empty_timeline
    from stages.generate import GenerateParams, GenerateStage

    params = GenerateParams.model_validate({"shots": shots})
    with pytest.raises(InputError, match=says):
        GenerateStage().apply(empty_timeline(), params, StageContext(base_dir=tmp_path))
    assert not (tmp_path / "cache" / "jobs").exists()


def test_prices_and_expected_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pipeline.providers.base import make_request
    from pipeline.providers.cost import estimate, expected_wall_time

    assert estimate("sora", make_request("p", "sora-2-pro", 8, size="1792x1024", provider="sora")).usd == pytest.approx(4.0)
    assert estimate("sora", make_request("p", "sora-2", 12, provider="sora")).usd == pytest.approx(1.2)
    assert estimate("kling", make_request("p", "kling-v2-6", 10, sound=True, provider="kling")).usd == pytest.approx(1.4)
    assert estimate("local", make_request("p", "kling-v2-6", 10)).usd == 0
    prices = tmp_path / "prices.json"
    prices.write_text('{"kling-v2-1:pro": 0.2}')
    monkeypatch.setenv("REELFORGE_PRICES", str(prices))
    assert estimate("kling", make_request("p", "kling-v2-1", 5, mode="pro", provider="kling")).usd == pytest.approx(1.0)
    # 5 kling jobs of 100 s, 2 at a time, run as 3 waves; a sora job runs alongside
    assert expected_wall_time([("kling", 100)] * 5 + [("sora", 120)], {"kling": 2, "sora": 2}) == 300


def test_redaction_and_retry_after() -> None:
    import email.utils
    import time

    import httpx

    from pipeline.providers.http import redact, register_secret, retry_after

    register_secret("sk-live-abcdef123456")
    assert redact("bad key sk-live-abcdef123456 given") == "bad key *** given"
    assert retry_after(httpx.Response(429, headers={"Retry-After": "7"})) == 7
    when = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 25 <= retry_after(httpx.Response(503, headers={"Retry-After": when})) <= 31
    assert retry_after(httpx.Response(429, headers={"retry-after-ms": "250"})) == 0.25
    assert retry_after(httpx.Response(500)) is None


def test_generate_refuses_a_non_video_output_and_negative_limits(tmp_path: Path) -> None:
    cases = [
        (("-o", str(tmp_path / "shot.txt")), "-o"),
        (("-o", str(tmp_path / "shot")), "-o"),
        (("--budget", "-1", "-o", str(tmp_path / "a.mp4")), "--budget"),
        (("--poll-interval", "0", "-o", str(tmp_path / "b.mp4")), "--poll-interval"),
    ]
    for extra, named in cases:
        r = run_cli("generate", "--prompt", "a kite", "--duration", "4", *extra)
        assert r.returncode == 2, (extra, r.stderr)
        assert len(r.stderr.strip().splitlines()) == 1 and named in r.stderr, r.stderr
    assert list(tmp_path.iterdir()) == []
    r = run_cli("run", "--budget", "-1", str(tmp_path / "p.yaml"))
    assert r.returncode == 2 and "--budget" in r.stderr


def test_last_frame_of_a_clip_whose_picture_ends_before_its_sound(tmp_path: Path) -> None:
    """A shot continued from such a clip starts from its last picture: the last second
    holds no frame, so the whole clip is read (this once crashed with FileNotFoundError)."""
    import cv2
    import numpy as np

    from pipeline.analysis.frames import read_frames
    from pipeline.providers.generate import last_frame
    from tests.media import ffmpeg

    clip = tmp_path / "file:short picture.mp4"
    made = tmp_path / "made.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=s=160x90:r=25:d=1", "-f", "lavfi", "-i", "sine=d=3",
           "-c:v", "libx264", "-preset", "ultrafast", "-qp", "0", "-c:a", "aac", str(made))
    made.rename(clip)
    png = last_frame(clip)
    assert png.exists() and png.suffix == ".png"
    assert not [p for p in png.parent.iterdir() if "partial" in p.name]
    got = cv2.cvtColor(cv2.imread(str(png)), cv2.COLOR_BGR2RGB).astype(np.int16)
    frames = [f for _, f in read_frames(str(clip), width=160, height=90, fps=None)]
    assert len(frames) == 25
    assert np.abs(got - frames[-1]).mean() < 2 < np.abs(got - frames[-2]).mean()
    assert last_frame(clip) == png  # cached by content
