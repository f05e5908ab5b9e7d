"""The render bench: three 5 s 720p clips joined with fades and exported to youtube-1080p,
the CLI called exactly as a user calls it (stitch to a timeline, then export, start-up
and verification included), against one hand-written ffmpeg command doing the same work
with the preset's own encoder settings. Alternating runs; the ratio is taken within each
pair and the median reported."""

from __future__ import annotations

import statistics
from fractions import Fraction
from pathlib import Path

from tests.bench.measure import Measured, combined, median_of, reelforge_argv, run_measured

REPEATS = 3
CLIP_S = 5.0
FADE_S = 0.5


def reference_argv(clips: list[Path], out: Path) -> list[str]:
    from pipeline.delivery.presets import get_preset
    from pipeline.ffmpeg import ffmpeg_exe

    s = get_preset("youtube-1080p").settings(Fraction(30))
    enc: list[str] = []
    for k, v in s.encoder_args().items():
        enc += [f"-{k}", str(v)]
    o1, o2 = CLIP_S - FADE_S, 2 * CLIP_S - 2 * FADE_S
    graph = (f"[0:v][1:v]xfade=transition=fade:duration={FADE_S}:offset={o1}[x1];"
             f"[x1][2:v]xfade=transition=fade:duration={FADE_S}:offset={o2},"
             f"scale={s.width}:{s.height},setsar=1,format=yuv420p[v];"
             f"[0:a][1:a]acrossfade=d={FADE_S}[y1];[y1][2:a]acrossfade=d={FADE_S}[a]")
    argv = [ffmpeg_exe(), "-hide_banner", "-v", "error", "-y"]
    for c in clips:
        argv += ["-i", str(c)]
    return argv + ["-filter_complex", graph, "-map", "[v]", "-map", "[a]", *enc, str(out)]


def reelforge_runs(clips: list[Path], work: Path) -> Measured:
    seq = work / "seq.timeline.json"
    stitch = run_measured(reelforge_argv("stitch", *map(str, clips), "--transition", f"fade:{FADE_S}",
                                         "-o", str(seq), "-y"))
    export = run_measured(reelforge_argv("export", str(seq), "-p", "youtube-1080p", "-o", str(work / "out"), "-y"))
    return combined(stitch, export)


def run(workdir: Path) -> list[dict]:
    from tests.media import make_clip

    clips = [make_clip(workdir / f"c{i}.mp4", size="1280x720", fps="30", duration=CLIP_S, audio=True,
                       tone=300 + 100 * i) for i in range(3)]
    ours, refs, ratios, cpu_ratios, mem_ratios = [], [], [], [], []
    for _ in range(REPEATS):
        ref = run_measured(reference_argv(clips, workdir / "ref.mp4"))
        rf = reelforge_runs(clips, workdir)
        ours.append(rf)
        refs.append(ref)
        ratios.append(rf.seconds / ref.seconds)
        cpu_ratios.append(rf.cpu_seconds / ref.cpu_seconds)
        mem_ratios.append(rf.peak_mb.get("ffmpeg", 0.0) / max(ref.peak_mb.get("ffmpeg", 1.0), 1.0))
    ratio = statistics.median(ratios)
    return [{
        "job": "render: 3 x 5 s 720p clips with fades -> youtube-1080p (CLI: stitch + export)",
        "reelforge": median_of(ours), "reference": median_of(refs), "ratio": ratio,
        "memory_ratio": statistics.median(mem_ratios),
        "goal": "<= 1.1x time, <= 1.5x ffmpeg memory",
        "note": f"wall-time ratio per pair {', '.join(f'{r:.2f}' for r in ratios)}; CPU-time ratio (less "
                f"sensitive to other load) median {statistics.median(cpu_ratios):.2f} "
                f"({', '.join(f'{r:.2f}' for r in cpu_ratios)}); start-up and verification included; "
                f"{'met' if ratio <= 1.1 else 'MISSED'}",
    }]
