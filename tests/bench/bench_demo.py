"""The demo (samples/promo.yaml: generate, effect, stitch, voiceover, music, smart reframe,
check, export to three presets with covers and captions) run twice from a copy of
samples/ with one fresh cache: the second, unchanged run is served from the step cache
and starts no encode."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.bench.measure import reelforge_argv, run_measured

ROOT = Path(__file__).resolve().parents[2]


def run(workdir: Path) -> list[dict]:
    import os

    shutil.copytree(ROOT / "samples", workdir / "samples")
    env = {**{k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}, "REELFORGE_CACHE": str(workdir / "cache")}
    spec = str(workdir / "samples" / "promo.yaml")
    first = run_measured(reelforge_argv("run", spec), env=env, inherit=False)
    second = run_measured(reelforge_argv("run", spec), env=env, inherit=False)
    share = second.seconds / first.seconds
    return [{
        "job": "demo, first run (samples/promo.yaml, empty cache)", "reelforge": first, "reference": None,
        "goal": "-", "note": "numba compiles beat tracking in this run (fresh cache)",
    }, {
        "job": "demo, second unchanged run", "reelforge": second, "reference": first,
        "goal": "<= 2 s and <= 2% of the first run",
        "note": f"{share:.1%} of the first run; reference = the first run; "
                f"{'met' if second.seconds <= 2 and share <= 0.02 else 'MISSED'}",
    }]
