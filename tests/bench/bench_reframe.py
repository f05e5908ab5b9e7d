"""Smart reframing: the analysis (decode at low resolution, faces, saliency, shots, camera
path) against the render it serves (the reframed clip encoded to the tiktok preset)."""

from __future__ import annotations

import math
import time
from pathlib import Path


def _sweep(t: float) -> tuple[float, float]:
    u = 0.5 - 0.5 * math.cos(math.pi * min(t / 8.0, 1.0))
    return 0.15 + 0.7 * u, 0.5 + 0.05 * math.sin(1.5 * t)


def run(workdir: Path) -> list[dict]:
    from pipeline.delivery.presets import get_preset
    from pipeline.progress import Reporter
    from stages.reframe.reframing import reframe_timeline
    from pipeline.render import render
    from pipeline.adapters.inputs import load_inputs
    from tests.reframe_media import make_face_clip

    src = workdir / "face 720p.mp4"
    make_face_clip(src, _sweep, size=(1280, 720), fps=30, duration=8.0, face_h=180, crf=20)
    tl = load_inputs([str(src)])
    tl.reframe = {"mode": "smart"}
    quiet = Reporter(quiet=True)
    start = time.perf_counter()
    vert = reframe_timeline(tl, 406, 720, "smart", quiet)  # uncached: first analysis of this source
    analysis_s = time.perf_counter() - start
    settings = get_preset("tiktok").settings(vert.canvas.fps)
    start = time.perf_counter()
    render(vert, [(settings, workdir / "vert.tiktok.mp4")], reporter=quiet)
    render_s = time.perf_counter() - start
    share = analysis_s / render_s
    return [{
        "job": "reframe smart: analysis vs its render (720p 8 s -> tiktok 1080x1920)",
        "reelforge_s": analysis_s,
        "reference_s": render_s,
        "goal": "analysis <= 15% of render",
        "note": f"analysis is {share * 100:.0f}% of the render",
    }]
