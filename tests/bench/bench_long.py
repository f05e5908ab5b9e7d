"""A 10-minute 1080p timeline (one 20 s clip used 30 times, joined with cuts) exported to
youtube-1080p at x264 ultrafast, against the hand-written ffmpeg command doing the same
work; and the same at 1 minute: peak memory stays flat as the work grows, because each
use of the clip is decoded when the timeline reaches it."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

from tests.bench.measure import combined, reelforge_argv, run_measured

CLIP_S = 20.0


def reference_argv(clip: Path, uses: int, out: Path) -> list[str]:
    from pipeline.delivery.presets import get_preset
    from pipeline.ffmpeg import ffmpeg_exe

    s = get_preset("youtube-1080p").settings(Fraction(30))
    enc: list[str] = []
    for k, v in {**s.encoder_args(), "preset": "ultrafast"}.items():
        enc += [f"-{k}", str(v)]
    argv = [ffmpeg_exe(), "-hide_banner", "-v", "error", "-y"]
    for _ in range(uses):
        argv += ["-i", str(clip)]
    pads = "".join(f"[{i}:v][{i}:a]" for i in range(uses))
    return argv + ["-filter_complex", f"{pads}concat=n={uses}:v=1:a=1[v][a]", "-map", "[v]", "-map", "[a]",
                   *enc, str(out)]


def ours(clip: Path, uses: int, work: Path) -> object:
    seq = work / f"long{uses}.timeline.json"
    stitch = run_measured(reelforge_argv("stitch", *[str(clip)] * uses, "-o", str(seq), "-y"))
    export = run_measured(reelforge_argv("export", str(seq), "-p", "youtube-1080p", "--speed", "ultrafast",
                                         "-o", str(work / f"out{uses}"), "-y"))
    return combined(stitch, export)


def run(workdir: Path) -> list[dict]:
    from tests.media import make_clip

    clip = make_clip(workdir / "clip.mp4", size="1920x1080", fps="30", duration=CLIP_S, audio=True)
    rows = []
    for uses in (3, 30):
        ref = run_measured(reference_argv(clip, uses, workdir / f"ref{uses}.mp4"))
        rf = ours(clip, uses, workdir)
        mem = rf.peak_mb.get("ffmpeg", 0.0) / max(ref.peak_mb.get("ffmpeg", 1.0), 1.0)
        rows.append({
            "job": f"{uses * CLIP_S / 60:g}-minute 1080p timeline ({uses} uses of one 20 s clip) -> youtube-1080p",
            "reelforge": rf, "reference": ref, "goal": "ffmpeg peak <= 1.5x the reference's, flat with length",
            "note": f"x264 ultrafast for both; CLI stitch + export (loudness plan, verification); ffmpeg memory "
                    f"{mem:.2f}x the reference's; {'met' if mem <= 1.5 else 'MISSED'}",
        })
    return rows
