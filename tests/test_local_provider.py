from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from pipeline.analysis.frames import read_frames
from pipeline.model.media import probe
from tests.conftest import run_cli


@pytest.mark.parametrize("model,aspect,duration,sound,size,fps", [
    ("sora-2", "16:9", "4", True, (1280, 720), 30),  # Sora 2 clips carry sound
    ("sora-2", "9:16", "4", True, (720, 1280), 30),
    ("kling-v2-6", "1:1", "5", False, (960, 960), 24),  # std mode: 720p class
    ("kling-v2-6", "9:16", "5", True, (1080, 1920), 24),  # sound needs pro mode: 1080p
])
def test_local_shapes(tmp_path: Path, model: str, aspect: str, duration: str, sound: bool,
                      size: tuple[int, int], fps: int) -> None:
    out = tmp_path / "shot.mp4"
    args = ["generate", "--model", model, "--aspect", aspect, "--duration", duration,
            "--prompt", "a kite over the sea", "--seed", "7", "-o", str(out)]
    if sound and not model.startswith("sora"):
        args.append("--sound")
    r = run_cli(*args)
    assert r.returncode == 0, r.stderr
    info = probe(out)
    assert (info.v.width, info.v.height) == size
    assert info.v.fps == Fraction(fps)
    assert info.v.frames == int(duration) * fps
    assert info.has_audio is sound
    # the subject moves: the frame difference between first and last analysis frames is large
    frames = [f for _, f in read_frames(str(out), width=96, fps=2)]
    assert np.abs(frames[0].astype(int) - frames[-1].astype(int)).mean() > 5


def test_local_rejects_what_the_model_cannot_do(tmp_path: Path) -> None:
    r = run_cli("generate", "--model", "sora-2", "--aspect", "1:1", "--prompt", "x", "-o", str(tmp_path / "a.mp4"))
    assert r.returncode == 2 and "16:9, 9:16" in r.stderr and "reframe" in r.stderr
    r = run_cli("generate", "--model", "sora-2", "--no-sound", "--prompt", "x", "-o", str(tmp_path / "a.mp4"))
    assert r.returncode == 2 and "always makes sound" in r.stderr
    r = run_cli("generate", "--model", "kling-v2-5-turbo", "--sound", "--prompt", "x", "-o", str(tmp_path / "a.mp4"))
    assert r.returncode == 2 and "silent" in r.stderr
    r = run_cli("generate", "--model", "kling-v2-6", "--duration", "7", "--prompt", "x", "-o", str(tmp_path / "a.mp4"))
    assert r.returncode == 2 and "5, 10" in r.stderr
    assert not (tmp_path / "a.mp4").exists()


def test_a_new_look_is_a_new_request_and_a_new_step_result(monkeypatch: pytest.MonkeyPatch) -> None:
    """A clip in the offline generator's old look is never handed back from a cache: its
    version is part of every local request's digest (and only local ones), and every engine
    module, the generator among them, is part of every step's cache key."""
    from pipeline.providers import base, local
    from pipeline.providers.base import VideoRequest
    from pipeline.run.runner import engine_files

    req = VideoRequest(prompt="a kite", model="sora-2", duration=4, width=1280, height=720)
    before = {p: req.digest(p) for p in ("local", "kling")}
    monkeypatch.setitem(base.RENDERER_VERSIONS, "local", base.RENDERER_VERSIONS["local"] + 1)
    assert req.digest("local") != before["local"]
    assert req.digest("kling") == before["kling"]
    engine = {str(Path(f).relative_to(Path(local.__file__).parents[2])) for f in engine_files()}
    assert {"pipeline/providers/local.py", "pipeline/render/video.py", "pipeline/run/runner.py"} <= engine


def test_a_speaking_stand_in_moves_its_lips_with_its_line(tmp_path: Path) -> None:
    """kling-v2-6 with sound says the prompt's quoted line, and its face's mouth opens with
    that line: the lip-sync check reads it in sync (inside the ITU's +45 ms detectability
    limit), and reads a 200 ms late copy of its sound as late by that much."""
    from stages.check.measure import measure_sync
    from tests.test_lips import shifted

    out = tmp_path / "talking.mp4"
    r = run_cli("generate", "--prompt", 'A hiker in the rain says "Rain or shine, it keeps me dry."',
                "--model", "kling-v2-6", "--aspect", "9:16", "--duration", "5", "--sound", "--seed", "2",
                "-o", str(out))
    assert r.returncode == 0, r.stderr
    base = measure_sync(str(out))
    assert base.feature == "lips" and base.offset_ms is not None, base.reason
    assert base.confidence >= 0.97 and abs(base.offset_ms) <= 45, base
    late = measure_sync(str(shifted(out, -200.0, tmp_path / "late.mp4")))
    assert late.feature == "lips" and late.offset_ms is not None, late.reason
    assert abs(late.offset_ms - base.offset_ms + 200) <= 42, late  # within a frame at 24 fps


# (16:9 of a 9:16 clip keeps under a third of its height: the label stays whole but can
# touch the top edge, so that crop is not promised here.)
@pytest.mark.parametrize("aspect,source", [("1:1", "9:16"), ("16:9", "1:1")])
def test_the_label_stays_whole_in_a_wider_crop(tmp_path: Path, aspect: str, source: str) -> None:
    """A crop wider than the clip (a square of a portrait clip, 16:9 of a square one) loses
    the clip's top and follows the subject up and down: the label rides with the subject,
    so it is whole in every frame and inside that shape's safe zone (the largest margins
    of the shipped presets of that shape)."""
    from pipeline.delivery.presets import load_presets
    from tests.test_demo_labels import _find, _glyphs

    prompt = "The hiker reaches the summit as the clouds part"
    clip, out = tmp_path / "clip.mp4", tmp_path / "wide.mp4"
    r = run_cli("generate", "--prompt", prompt, "--model", "kling-v2-5-turbo", "--aspect", source,
                "--duration", "5", "--seed", "3", "-o", str(clip))
    assert r.returncode == 0, r.stderr
    r = run_cli("reframe", str(clip), "--aspect", aspect, "--mode", "smart", "-o", str(out))
    assert r.returncode == 0, r.stderr
    src_w, src_h = probe(str(clip)).v.display_size
    w, h = probe(str(out)).v.display_size
    shapes = [p for p in load_presets().values() if p.aspect == aspect]
    margin = {side: max(getattr(p, f"safe_{side}") for p in shapes) for side in ("top", "bottom", "left", "right")}
    glyphs = _glyphs(prompt, src_w, src_h, w / src_w)  # the crop keeps the clip's whole width
    gh, gw = glyphs.shape
    frames = 0
    for t, frame in read_frames(str(out), width=w, fps=4):
        found, x, y = _find(frame, glyphs)
        where = f"{aspect} of {source} at {t:.2f} s: label at x={x} y={y} {gw}x{gh}"
        assert found > 0.85, f"{where}: its glyphs agree {found:.0%} with the picture"
        assert margin["left"] * w <= x and x + gw <= w * (1 - margin["right"]), where
        assert margin["top"] * h <= y and y + gh <= h * (1 - margin["bottom"]), where
        frames += 1
    assert frames >= 18
