"""Multi-preset export in one ffmpeg process vs one export run per preset."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

PRESETS = ["tiktok", "youtube-shorts", "instagram-feed-square", "web-preview"]
SPEED = "veryfast"


def _export(src: Path, presets: list[str], out: Path) -> float:
    argv = [sys.executable, "-m", "pipeline", "export", str(src), "-o", str(out), "--speed", SPEED, "--no-verify", "-y"]
    for p in presets:
        argv += ["-p", p]
    start = time.perf_counter()
    subprocess.run(argv, check=True, capture_output=True)
    return time.perf_counter() - start


def run(workdir: Path) -> list[dict]:
    from tests.media import make_clip

    src = make_clip(workdir / "wide.mp4", size="1280x720", fps="30", duration=6.0, audio=True)
    multi = _export(src, PRESETS, workdir / "multi")
    separate = sum(_export(src, [p], workdir / f"single-{p}") for p in PRESETS)
    return [{
        "job": f"export {len(PRESETS)} presets (3 sizes) of a 6 s 720p clip",
        "reelforge_s": multi,
        "reference_s": separate,
        "goal": "one process faster than separate runs",
        "note": f"reference = {len(PRESETS)} separate export runs; x264 {SPEED}; one decode, 3 compositions, {len(PRESETS)} encodes",
    }]
