from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from pipeline.analysis.frames import read_frames
from pipeline.model.media import probe
from tests.conftest import run_cli


@pytest.mark.parametrize("model,aspect,duration,sound,size,fps", [
    ("sora-2", "16:9", "4", False, (1280, 720), 30),
    ("sora-2", "9:16", "4", False, (720, 1280), 30),
    ("kling-v2-6", "1:1", "5", True, (960, 960), 24),
])
def test_local_shapes(tmp_path: Path, model: str, aspect: str, duration: str, sound: bool,
                      size: tuple[int, int], fps: int) -> None:
    out = tmp_path / "shot.mp4"
    args = ["generate", "--model", model, "--aspect", aspect, "--duration", duration,
            "--prompt", "a kite over the sea", "--seed", "7", "-o", str(out)]
    if sound:
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
    r = run_cli("generate", "--model", "sora-2", "--sound", "--prompt", "x", "-o", str(tmp_path / "a.mp4"))
    assert r.returncode == 2 and "silent" in r.stderr
    r = run_cli("generate", "--model", "kling-v2-6", "--duration", "7", "--prompt", "x", "-o", str(tmp_path / "a.mp4"))
    assert r.returncode == 2 and "5, 10" in r.stderr
    assert not (tmp_path / "a.mp4").exists()
