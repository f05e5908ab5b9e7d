"""Generation under interruption and concurrency, through the real CLI in subprocesses:
SIGINT/SIGTERM leave no partial clip in the cache and no ffmpeg behind; two processes
asking for the same shot at once pay for one job; `-o` writes the container it names."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.fake_http import run_cli_bg, wait_for
from tests.fake_kling import FakeKling
from tests.providerkit import kling, provider_env, served, sha  # noqa: F401 (fixtures)

PIPELINE = """\
name: interrupted
shots:
  - {id: a, prompt: "a long slow pan over a harbour", model: sora-2, duration: 12, aspect: "16:9", seed: 1}
  - {id: b, prompt: "another long slow pan", model: sora-2, duration: 12, aspect: "16:9", seed: 2}
steps: []
"""


def processes_mentioning(text: str) -> list[int]:
    """Ids of live processes whose command line contains `text`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
            state = (entry / "stat").read_text().split(") ")[-1][:1]
        except OSError:
            continue
        if text in cmd and state != "Z":
            found.append(int(entry.name))
    return found


@pytest.mark.parametrize("how", ["run", "generate"])
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupted_generation_leaves_nothing_behind(tmp_path: Path, how: str, sig: int) -> None:
    cache = tmp_path / "cache"
    generated = cache / "generated"
    if how == "run":
        spec = tmp_path / "p.yaml"
        spec.write_text(PIPELINE)
        args = ("run", str(spec))
    else:
        args = ("generate", "--prompt", "a long slow pan", "--duration", "12", "-o", str(tmp_path / "x.mp4"))
    proc = run_cli_bg(*args, env={"REELFORGE_CACHE": str(cache)})
    try:
        wait_for(lambda: generated.is_dir() and any("partial" in p.name for p in generated.iterdir()), 60)
        wait_for(lambda: bool(processes_mentioning(str(generated))), 20)
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    time.sleep(0.3)
    assert processes_mentioning(str(generated)) == []  # no ffmpeg outlives the run
    assert [p.name for p in generated.iterdir() if "partial" in p.name] == []
    assert not (tmp_path / "x.mp4").exists()


def test_two_processes_share_one_paid_job(kling: FakeKling, served: Path, tmp_path: Path) -> None:
    args = ("generate", "--provider", "kling", "--model", "kling-v2-5-turbo", "--prompt", "[hold] one shot, two runs")
    first = run_cli_bg(*args, "-o", str(tmp_path / "first.mp4"), env={})
    wait_for(lambda: len(kling.requests("GET", "/v1/videos/text2video/")) >= 1)
    log = tmp_path / "second.log"
    with open(log, "w") as fh:
        second = subprocess.Popen([sys.executable, "-m", "pipeline", *args, "-o", str(tmp_path / "second.mp4")],
                                  stdout=fh, stderr=fh, text=True)
    wait_for(lambda: "waiting" in log.read_text(), 60)  # the second waits for the first's job
    time.sleep(0.5)
    assert len(kling.requests("POST", "/v1/videos/")) == 1
    kling.release()
    _, err1 = first.communicate(timeout=60)
    second.wait(timeout=60)
    assert first.returncode == 0, err1
    assert second.returncode == 0, log.read_text()
    assert len(kling.requests("POST", "/v1/videos/")) == 1 and len(kling.submissions) == 1
    assert sha(tmp_path / "first.mp4") == sha(tmp_path / "second.mp4") == sha(served)


@pytest.mark.parametrize("ext, container", [(".mkv", "matroska"), (".mov", "mov"), (".mp4", "mp4")])
def test_output_extension_sets_the_container(tmp_path: Path, ext: str, container: str) -> None:
    import av

    out = tmp_path / f"shot{ext}"
    r = run_cli("generate", "--prompt", "a kite", "--model", "kling-v2-6", "--duration", "5", "--sound",
                "--seed", "3", "-o", str(out))
    assert r.returncode == 0, r.stderr
    with av.open(str(out)) as c:
        assert container in c.format.name.split(",")
        assert [s.type for s in c.streams] == ["video", "audio"]
        assert c.streams.video[0].frames == 120 or c.streams.video[0].frames == 0
    if ext == ".mkv":
        assert out.read_bytes()[:4] == b"\x1a\x45\xdf\xa3"  # the EBML magic of Matroska
    r = run_cli("generate", "--prompt", "a kite", "-o", str(tmp_path / "shot.webm"))
    assert r.returncode == 2 and "-o" in r.stderr and not (tmp_path / "shot.webm").exists()


def test_prompt_is_drawn_small_at_the_top_in_any_script(tmp_path: Path) -> None:
    """Non-ASCII prompts are drawn with Roboto (not '?'), small and at the top of the frame."""
    import numpy as np

    from pipeline.analysis.frames import read_frames
    from pipeline.providers.local import PROMPT_TOP, prompt_overlay, subject_size

    prompt = "Café ñandú: Ωmega и ёлка"
    img, x, y = prompt_overlay(prompt, 1280, 720, subject=subject_size(1280, 720))
    as_ascii = "".join(c if ord(c) < 128 else "?" for c in prompt)
    qimg, _, _ = prompt_overlay(as_ascii, 1280, 720)
    a = np.asarray(img)[:, :, 0] > 200
    q = np.asarray(qimg.resize(img.size))[:, :, 0] > 200
    assert (a ^ q).mean() > 0.02  # the glyphs are not question marks
    assert img.width <= 720 * 9 / 16 * 0.8 and img.height < 720 * 0.2  # small, and inside a 9:16 crop
    assert y >= 720 * 0.14

    out = tmp_path / "ü.mp4"
    r = run_cli("generate", "--prompt", prompt, "--seed", "5", "-o", str(out))
    assert r.returncode == 0, r.stderr
    glyphs = np.asarray(img)[:, :, 0] > 240  # white glyph cores
    lefts = []
    for _, frame in read_frames(str(out), width=1280, fps=1):
        bright = frame.min(axis=2) > 180
        band = bright[y:y + img.height]
        # the label moves with the subject: find it along its row
        hits = [(band[:, left:left + img.width] & glyphs).sum() for left in range(0, 1280 - img.width + 1, 2)]
        assert max(hits) > 0.6 * glyphs.sum() > 0  # the glyphs are in the picture, in the top band
        lefts.append(2 * int(np.argmax(hits)))
    assert y >= 720 * PROMPT_TOP and y + img.height < 720 * 0.35  # the top band only
    assert len(set(lefts)) > 1  # it travels with the subject
