"""An unchanged second run of a demo-shaped pipeline starts no encode.

The pipeline has the demo's shape (an effect, stitch with transitions, voiceover, music,
smart reframe, a check step with a report, and export with covers and captions to two
presets); ffmpeg is a wrapper that logs every command line, so the test counts the
commands that write a media file in each run.
"""

from __future__ import annotations

import json

import textwrap
from pathlib import Path

from tests.conftest import run_cli
from tests.ffmpeglog import encodes, logged_ffmpeg
from tests.media import make_clip, write_preset
from tests.soundkit import click_bed, write_audio

PIPE = """
    name: promo
    inputs: [opener.mp4, jacket.mp4, summit.mp4]
    steps:
      - effect: {clip: 3, function: "looks.py:warm", args: {strength: 0.15}}
      - stitch: {transition: [fade:0.3, fadeblack:0.3], trim_head: 0.1}
      - voiceover: {script: voiceover.txt, fit: extend}
      - music: {track: bed.wav, gain_db: -8, original_audio_db: -12}
      - reframe: {aspect: "9:16", mode: smart}
      - check: {warn: true, report: out/promo.check.html}
      - export: {presets: [vtiny, vtiny2], dir: out, thumbnail: true, captions: auto}
    """


def test_an_unchanged_demo_shaped_run_starts_no_encode(tmp_path: Path) -> None:
    for name in ("vtiny", "vtiny2"):
        write_preset(tmp_path / "user-presets", name, aspect="9:16", width=180, height=320, crf=35 if name == "vtiny" else 40,
                     audio_bitrate="64k", gop_seconds=1.0)
    for name, tone in (("opener", 440), ("jacket", 660), ("summit", 880)):
        make_clip(tmp_path / f"{name}.mp4", duration=1.5, audio=name == "jacket", tone=tone)
    write_audio(tmp_path / "bed.wav", click_bed(6.0))
    (tmp_path / "looks.py").write_text(textwrap.dedent("""
        import numpy as np

        def warm(frame, strength=0.2):
            out = frame.astype(np.float32)
            out[..., 0] *= 1 + strength
            return np.clip(out, 0, 255).astype(np.uint8)
        """))
    (tmp_path / "voiceover.txt").write_text("[0] Every trail starts early.\n[2] Light enough to carry.\n")
    spec = tmp_path / "promo.yaml"
    spec.write_text(textwrap.dedent(PIPE).lstrip("\n"))
    log = tmp_path / "ffmpeg.log"
    env = {"REELFORGE_FFMPEG": str(logged_ffmpeg(tmp_path, log)), "REELFORGE_PRESETS": str(tmp_path / "user-presets"),
           "REELFORGE_CACHE": str(tmp_path / "cache")}

    first = run_cli("run", str(spec), cwd=tmp_path, env=env)
    assert first.returncode == 0, first.stderr
    out = tmp_path / "out"
    made = sorted(p.name for p in out.iterdir())
    assert made == sorted(["promo.check.html", "promo.review.html", "promo.run.json"]
                          + [f"promo.{p}.{ext}" for p in ("vtiny", "vtiny2")
                                                  for ext in ("mp4", "jpg", "srt", "vtt")]), made
    # the wrapper sees the work: the export's encode writes (a temporary beside) each output
    first_encodes = encodes(log)
    assert any(str(out) in w and w.endswith(".mp4") for ws in first_encodes for w in ws), first_encodes
    latest = ("promo.run.json", "promo.review.html")  # describe the latest run: rewritten each time
    stamps = {p.name: p.stat().st_mtime_ns for p in out.iterdir() if p.name not in latest}
    log.unlink()

    second = run_cli("run", str(spec), cwd=tmp_path, env=env)
    assert second.returncode == 0, second.stderr
    assert encodes(log) == [], encodes(log)
    assert "promo: 7 cached in" in second.stderr, second.stderr  # every step, check and export too
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir() if p.name not in latest} == stamps  # nothing rewritten
    steps = json.loads((out / "promo.run.json").read_text())["variants"][0]["steps"]
    assert {s["state"] for s in steps} == {"cached"}
    # the check's result is still reported, from the cache
    assert "check=promo  passed=" in second.stderr
