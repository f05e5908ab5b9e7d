"""check: a 60 s 1080p clip (flashes with beeps, the sound 80 ms early) checked from the
CLI, against ffmpeg alone decoding the same file at 160 px and measuring its loudness."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from pipeline.ffmpeg import ffmpeg_exe

GOAL_S = 10.0
# a 70 ms flash every 1.7 s; a 50 ms beep starting 80 ms before each flash
FLASH = "lt(mod(t\\,1.7)\\,0.07)"
BEEP = "0.5*sin(2*PI*1000*t)*lt(mod(t+0.08\\,1.7)\\,0.05)"


def make_clip(path: Path) -> Path:
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostdin", "-v", "error", "-y",
                    "-f", "lavfi", "-i", "testsrc2=s=1920x1080:r=30:d=60",
                    "-f", "lavfi", "-i", f"aevalsrc={BEEP}:s=48000:d=60",
                    "-vf", f"drawbox=x=0:y=0:w=iw:h=ih:color=white:t=fill:enable='{FLASH}'",
                    "-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p",
                    "-c:a", "aac", "-b:a", "128k", str(path)], check=True)
    return path


def run(workdir: Path) -> list[dict]:
    clip = make_clip(workdir / "sixty 1080p.mp4")
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "pipeline", "check", str(clip), "--json"],
                          capture_output=True, text=True)
    ours = time.perf_counter() - start
    doc = json.loads(proc.stdout)
    start = time.perf_counter()
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostdin", "-v", "error", "-i", str(clip),
                    "-vf", "scale=160:90", "-f", "rawvideo", "-pix_fmt", "gray", "-y", "/dev/null",
                    "-af", "ebur128=peak=true", "-f", "null", "-"], check=True, capture_output=True)
    ref = time.perf_counter() - start
    note = (f"offset {doc['av_offset_ms']} ms (injected +80), confidence {doc['av_offset_confidence']}; "
            f"goal <= {GOAL_S:g} s: {'met' if ours <= GOAL_S else 'MISSED'}")
    return [{"job": "check 60 s 1080p30 (sync + structure + loudness)", "reelforge_s": ours,
             "reference_s": ref, "goal": f"<= {GOAL_S:g} s", "note": note}]
