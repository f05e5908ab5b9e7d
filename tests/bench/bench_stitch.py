"""stitch benchmarks: five 5 s 720p clips with fades (master quality) against the
equivalent hand-written ffmpeg command, and the stream-copy path for a 15 s result."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from pipeline.ffmpeg import ffmpeg_exe
from tests.media import make_clip

CLIP_SECONDS = 5
FADE = 0.5
FPS = 30
SIZE = (1280, 720)


def _timed(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, check=True, capture_output=True)
    return time.perf_counter() - start


def _master_args() -> list[str]:
    """The master preset's encoder settings (presets/master.toml) at the clips' own size."""
    from pipeline.delivery.master import master_settings as default_settings
    from pipeline.model.timeline import Canvas, Timeline
    from fractions import Fraction

    s = default_settings(Timeline(canvas=Canvas(SIZE[0], SIZE[1], Fraction(FPS))))
    args: list[str] = []
    for key, value in s.encoder_args().items():
        args += [f"-{key}", str(value)]
    return args


def reference_fades(clips: list[Path], out: Path) -> list[str]:
    """The same edit by hand: xfade + acrossfade chains, master encoder settings."""
    n = len(clips)
    parts = []
    for i in range(n):
        parts.append(f"[{i}:v]fps={FPS},format=yuv420p,settb=1/{FPS}[v{i}]")
        parts.append(f"[{i}:a]aresample=48000,aformat=sample_fmts=fltp:channel_layouts=stereo[a{i}]")
    prev_v, prev_a = "v0", "a0"
    for i in range(1, n):
        offset = i * (CLIP_SECONDS - FADE)
        parts.append(f"[{prev_v}][v{i}]xfade=transition=fade:duration={FADE}:offset={offset}[xv{i}]")
        parts.append(f"[{prev_a}][a{i}]acrossfade=d={FADE}[xa{i}]")
        prev_v, prev_a = f"xv{i}", f"xa{i}"
    argv = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-v", "error", "-y"]
    for c in clips:
        argv += ["-i", str(c)]
    argv += ["-filter_complex", ";".join(parts), "-map", f"[{prev_v}]", "-map", f"[{prev_a}]",
             *_master_args(), str(out)]
    return argv


def run(workdir: Path) -> list[dict]:
    size = f"{SIZE[0]}x{SIZE[1]}"
    patterns = ["testsrc2", "testsrc", "rgbtestsrc", "testsrc2", "testsrc"]
    clips = [make_clip(workdir / f"clip{i}.mp4", size=size, fps=str(FPS), duration=CLIP_SECONDS, audio=True,
                       tone=220.0 * (i + 1), pattern=p) for i, p in enumerate(patterns)]
    cli = [sys.executable, "-m", "pipeline", "--quiet", "stitch"]
    rows = []

    ours = _timed([*cli, *map(str, clips), "--transition", f"fade:{FADE}", "-o", str(workdir / "fades.mp4")])
    ref = _timed(reference_fades(clips, workdir / "fades-ref.mp4"))
    rows.append({"job": "stitch: 5 x 5 s 720p clips, fades, master quality", "reelforge_s": ours,
                 "reference_s": ref, "goal": "<= 1.2x reference",
                 "note": f"{len(clips) * CLIP_SECONDS - (len(clips) - 1) * FADE:g} s result"})

    same = clips[:3]  # identical codec settings: the stream-copy path
    listing = workdir / "list.txt"
    listing.write_text("".join(f"file '{c}'\n" for c in same))
    ours = _timed([*cli, *map(str, same), "-o", str(workdir / "copy.mp4")])
    ref = _timed([ffmpeg_exe(), "-hide_banner", "-nostdin", "-v", "error", "-y", "-f", "concat", "-safe", "0",
                  "-auto_convert", "0", "-i", str(listing), "-map", "0", "-c", "copy", "-movflags", "+faststart",
                  str(workdir / "copy-ref.mp4")])
    seconds = CLIP_SECONDS * len(same)
    rows.append({"job": "stitch: stream copy, 15 s result (start-up included)", "reelforge_s": ours,
                 "reference_s": ref, "goal": f">= 50x real time (<= {seconds / 50:.2f} s)",
                 "note": f"{seconds / ours:.0f}x real time"})
    return rows
