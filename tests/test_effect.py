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
