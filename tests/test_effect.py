"""The effect command as users meet it: a user's frame function that misbehaves."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import run_cli
from tests.media import make_clip


def test_a_frame_function_that_exits_is_a_stage_failure_not_an_exit_code(tmp_path: Path) -> None:
    """sys.exit() in a user's function (while loading or on a frame) must not become
    reelforge's exit code: exit 1 or 2 with one line naming the function, no output."""
    clip = make_clip(tmp_path / "a.mp4", duration=0.5)
    (tmp_path / "fx.py").write_text("import sys\n\ndef bail(frame):\n    sys.exit(3)\n")
    (tmp_path / "top.py").write_text("import sys\nsys.exit(4)\n")
    for function, code in (("fx.py:bail", 1), ("top.py:f", 2)):
        out = tmp_path / f"out-{code}.mp4"
        r = run_cli("effect", str(clip), "--function", str(tmp_path / function), "-o", str(out))
        assert r.returncode == code, (function, r.returncode, r.stderr)
        lines = r.stderr.strip().splitlines()
        assert lines and lines[-1].startswith("error: ") and "SystemExit" in lines[-1], r.stderr
        assert not out.exists()


def test_the_effect_reads_and_writes_files_whose_names_look_like_protocols(tmp_path: Path) -> None:
    """moviepy starts its own ffmpeg: it too is given `file:z.mp4` as that file (4 s), not
    the 2 s decoy z.mp4, and writes the output named `x:fx.mp4`."""
    import numpy as np

    from pipeline.analysis.frames import read_frames
    from pipeline.model.media import probe
    from tests.media import PLAIN_FPS, PLAIN_SECONDS, protocol_named_clips

    folder = protocol_named_clips(tmp_path / "names")
    (folder / "fx.py").write_text("def invert(frame):\n    return 255 - frame\n")
    r = run_cli("effect", "file:z.mp4", "--function", "fx.py:invert", "-o", "x:fx.mp4", cwd=folder)
    assert r.returncode == 0, r.stderr
    assert probe(folder / "x:fx.mp4").v.frames == PLAIN_SECONDS * PLAIN_FPS
    src = [f for _, f in read_frames(str(folder / "plain.mp4"), width=80, fps=2)]
    out = [f for _, f in read_frames(str(folder / "x:fx.mp4"), width=80, fps=2)]
    assert len(out) == len(src) == PLAIN_SECONDS * 2
    assert all(np.abs((255 - a.astype(int)) - b).mean() < 4 for a, b in zip(src, out))  # inverted
