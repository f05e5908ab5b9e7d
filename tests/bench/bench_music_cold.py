"""The music step in a fresh process: cold (an empty cache: numba compiles librosa's beat
tracker) and warm (the same cache, another music file: compiled code is reused, the beats
are tracked anew). The CLI as a user runs it."""

from __future__ import annotations

import os
from pathlib import Path

from tests.bench.measure import reelforge_argv, run_measured


def run(workdir: Path) -> list[dict]:
    from tests.media import make_clip
    from tests.soundkit import click_bed, write_audio

    clip = make_clip(workdir / "shot.mp4", size="640x360", duration=12.0)
    beds = [write_audio(workdir / f"bed{i}.wav", click_bed(6.0, bpm=bpm)) for i, bpm in enumerate((120.0, 100.0))]
    # a cache of its own, and numba's compiled code inside it (no NUMBA_CACHE_DIR from outside)
    env = {**{k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}, "REELFORGE_CACHE": str(workdir / "cache")}
    runs = []
    for i, bed in enumerate(beds):
        out = workdir / f"scored{i}.timeline.json"
        runs.append(run_measured(reelforge_argv("music", str(clip), "--track", str(bed), "-o", str(out), "-y"),
                                 env=env, inherit=False))
    cold, warm = runs
    return [{
        "job": "music step, cold (empty cache: numba compiles beat tracking)", "reelforge": cold, "reference": None,
        "goal": "once per machine", "note": f"cpu {cold.cpu_seconds:.1f} s",
    }, {
        "job": "music step, warm (compiled code cached, new music file)", "reelforge": warm, "reference": None,
        "goal": "no compile", "note": f"cpu {warm.cpu_seconds:.1f} s; {cold.seconds / warm.seconds:.1f}x faster than cold",
    }]
