"""Three 1080x1920 H.264 presets (tiktok, youtube-shorts, instagram-reels) from one
vertical timeline against one of them alone: outputs with the same streams share one
encode and are remuxed, so three should cost little more than one. The CLI as a user
runs it; alternating runs, the ratio taken within each pair, the median reported."""

from __future__ import annotations

import statistics
from pathlib import Path

from tests.bench.measure import median_of, reelforge_argv, run_measured

REPEATS = 3
PRESETS = ("tiktok", "youtube-shorts", "instagram-reels")


def run(workdir: Path) -> list[dict]:
    from tests.media import make_clip

    src = make_clip(workdir / "vertical.mp4", size="1080x1920", fps="30", duration=8.0, audio=True)
    three, one, ratios, cpu = [], [], [], []
    for i in range(REPEATS):
        alone = run_measured(reelforge_argv("export", str(src), "-p", PRESETS[0], "-o", str(workdir / f"one{i}")))
        together = run_measured(reelforge_argv("export", str(src), *[a for p in PRESETS for a in ("-p", p)],
                                               "-o", str(workdir / f"three{i}")))
        one.append(alone)
        three.append(together)
        ratios.append(together.seconds / alone.seconds)
        cpu.append(together.cpu_seconds / alone.cpu_seconds)
    ratio = statistics.median(ratios)
    return [{
        "job": "export 3 x 1080x1920 H.264 presets (tiktok, youtube-shorts, instagram-reels) of an 8 s clip",
        "reelforge": median_of(three), "reference": median_of(one), "ratio": ratio,
        "goal": "<= 1.2x one preset",
        "note": f"reference = the same export to tiktok alone (x264 medium, verified); one shared encode, three "
                f"remuxes; wall ratio per pair {', '.join(f'{r:.2f}' for r in ratios)}, CPU ratio median "
                f"{statistics.median(cpu):.2f}; {'met' if ratio <= 1.2 else 'MISSED'}",
    }]
