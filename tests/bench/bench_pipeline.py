"""Incremental runs: an unchanged second run of a pipeline file against its first run."""

from __future__ import annotations

import os
import time
from pathlib import Path

from tests.media import make_clip

PRESET = """name = "bench-small"
description = "bench: 640x360 veryfast"
platform = "bench"
aspect = "16:9"
width = 640
height = 360
max_fps = 30
x264_preset = "veryfast"
crf = 23
"""


def run(workdir: Path) -> list[dict]:
    from pipeline.run.runner import run_file_results

    presets = workdir / "presets"
    presets.mkdir()
    (presets / "bench-small.toml").write_text(PRESET)
    os.environ["REELFORGE_PRESETS"] = str(presets)
    for i in range(3):
        make_clip(workdir / f"c{i}.mp4", size="640x360", duration=4.0, audio=True, tone=300 + 100 * i)
    (workdir / "fx.py").write_text("def invert(frame):\n    return 255 - frame\n")
    spec = workdir / "bench.yaml"
    spec.write_text("name: bench\ninputs: [c0.mp4, c1.mp4, c2.mp4]\nsteps:\n"
                    "  - effect: {clip: 2, function: fx.py:invert}\n"
                    "  - export: {presets: [bench-small], dir: out}\n")
    t0 = time.perf_counter()
    run_file_results(spec, quiet=True, live=False, summary=False)
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    res = run_file_results(spec, quiet=True, live=False, summary=False)
    second = time.perf_counter() - t0
    assert set(res[0].states.values()) == {"cached"}
    return [{"job": "pipeline: unchanged second run (effect + export, 3x4 s clips)", "reelforge_s": second,
             "reference_s": first, "goal": "< 5% of the first run",
             "note": "reference = the same file's first run; second run is served from the step cache"}]
