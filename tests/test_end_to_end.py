"""End to end across stages: a landscape clip with a moving face is reframed (smart) and
exported to a vertical and a square preset in one run; the face is in every output."""

from __future__ import annotations

import math
from pathlib import Path

from pipeline.analysis.frames import frame_at
from stages.reframe.saliency import _face_detector, detect_faces
from tests.conftest import run_cli
from tests.media import write_preset
from tests.reframe_media import make_face_clip


def _sweep(t: float) -> tuple[float, float]:
    u = 0.5 - 0.5 * math.cos(math.pi * min(t / 2.5, 1.0))
    return 0.14 + 0.72 * u, 0.5


def _faces_found(path: Path, times: list[float]) -> int:
    import cv2

    det = _face_detector()
    found = 0
    for t in times:
        gray = cv2.cvtColor(frame_at(str(path), t), cv2.COLOR_RGB2GRAY)
        found += bool(detect_faces(det, gray))
    return found


def test_smart_reframe_then_export_keeps_the_face_in_every_shape(tmp_path: Path) -> None:
    src = tmp_path / "wide face.mp4"
    make_face_clip(src, _sweep, size=(640, 360), fps=30, duration=3.0, face_h=110)
    presets = tmp_path / "presets"
    write_preset(presets, "tall", aspect="9:16", width=360, height=640)
    write_preset(presets, "square", aspect="1:1", width=360, height=360)
    env = {"REELFORGE_PRESETS": str(presets)}
    tl = tmp_path / "vert.timeline.json"
    r = run_cli("reframe", str(src), "--aspect", "9:16", "--mode", "smart", "-o", str(tl), env=env)
    assert r.returncode == 0, r.stderr
    r = run_cli("export", str(tl), "-p", "tall", "-p", "square", "-o", str(tmp_path / "out"), env=env)
    assert r.returncode == 0, r.stderr
    times = [0.2, 0.8, 1.4, 2.0, 2.6]
    for name in ("tall", "square"):
        out = tmp_path / "out" / f"vert.{name}.mp4"
        assert _faces_found(out, times) == len(times), name
    # the same clip fitted by a fixed centre crop loses the face at both ends of the sweep
    r = run_cli("reframe", str(src), "--aspect", "9:16", "--mode", "center", "-o", str(tmp_path / "c.mp4"), env=env)
    assert r.returncode == 0, r.stderr
    assert _faces_found(tmp_path / "c.mp4", [0.2, 2.8]) == 0
