"""Lip sync on the real talking heads in ../shared/media/talking: how many are measured,
whether injected shifts are recovered, how often another clip's sound is accepted, what
the AI-rendered heads (in sync by construction) measure, the Gumbel calibration of the
confidence, and the time to check 60 s of 1080p with a face in it.

Unrelated pairs are scored at the function level (each clip's mouth curve against every
other clip's sound: 342 pairs), which is what the confidence is calibrated on; shifts are
injected into real files with ffmpeg and measured through the public entry point."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from pipeline.ffmpeg import ffmpeg_exe

ROOT = Path(__file__).resolve().parents[2]
TALKING = ROOT / ".." / "shared" / "media" / "talking"
SHIFTS_MS = (-200, -120, -40, 40, 120, 200)
LONG_S = 8.0
SPEED_GOAL_S = 10.0


def _ff(*args: str) -> None:
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostdin", "-v", "error", "-y", *args], check=True)


def _shifted(src: Path, ms: int, out: Path) -> Path:
    from pipeline.model.media import probe

    dur = float(probe(str(src)).duration)
    chain = f"atrim=start={ms / 1000:.4f},asetpts=PTS-STARTPTS,apad" if ms > 0 else f"adelay={-ms}:all=1,apad"
    _ff("-i", str(src), "-map", "0:v:0", "-map", "0:a:0", "-c:v", "copy", "-af", chain, "-t", f"{dur:.3f}",
        "-c:a", "aac", "-b:a", "128k", str(out))
    return out


def calibration(curves: dict[str, tuple]) -> dict:
    """Score every clip's mouth against every other clip's sound; fit a Gumbel law."""
    from stages.check.lips import LIPS_MIN_CONFIDENCE, calibrated_confidence, lips_score
    from stages.check.sync import AUDIO_SR

    scores, long_scores = [], []
    for n, (mouth, _, vs, _) in curves.items():
        for m, (_, y, _, _) in curves.items():
            if n == m or mouth.reason:
                continue
            sc = lips_score(mouth, y, AUDIO_SR, 1.0, vs)
            if sc["lag"] is None:
                continue
            conf = calibrated_confidence(sc["score"])
            if abs(sc["lag"]) >= min(1.0, sc["seconds"] / 3) - 0.01:
                conf = 0.0
            scores.append((sc["score"], conf))
            if sc["seconds"] >= LONG_S:
                long_scores.append(conf)
    s = np.array([x for x, _ in scores])
    beta = float(s.std() * math.sqrt(6) / math.pi)
    mu = float(s.mean() - 0.5772 * beta)
    accepted = sum(c >= LIPS_MIN_CONFIDENCE for _, c in scores)
    long_acc = sum(c >= LIPS_MIN_CONFIDENCE for c in long_scores)
    return {"pairs": len(scores), "accepted": accepted, "long_pairs": len(long_scores), "long_accepted": long_acc,
            "fit_mu": round(mu, 3), "fit_beta": round(beta, 3)}


def run(workdir: Path) -> list[dict]:
    if not TALKING.is_dir():
        return [{"job": "lips on real talking heads", "reelforge_s": 0.0, "reference_s": None, "goal": "-",
                 "note": f"skipped: {TALKING} not found"}]
    from pipeline.analysis.audio import decode_audio
    from pipeline.model.media import probe
    from stages.check.lips import mouth_curve
    from stages.check.measure import measure_sync
    from stages.check.sync import AUDIO_SR

    clips = sorted(TALKING.glob("*.mp4"))
    curves: dict[str, tuple] = {}
    measured: dict[str, object] = {}
    start = time.perf_counter()
    for p in clips:
        info = probe(str(p))
        res = measure_sync(str(p))
        measured[p.name] = res
        mouth = mouth_curve(str(p), info)
        y = decode_audio(str(p), sample_rate=AUDIO_SR, mono=True, start=mouth.start or None,
                         duration=len(mouth.signal) / mouth.fps if mouth.signal else None)
        vs = max(float(info.v.start_time), mouth.start) - max(float(info.audio[0].start_time), mouth.start)
        curves[p.name] = (mouth, y, vs, float(info.duration))
    per_clip_s = (time.perf_counter() - start) / max(1, len(clips))
    cal = calibration(curves)
    long = [n for n, c in curves.items() if c[3] >= LONG_S]
    got = [n for n, r in measured.items() if r.offset_ms is not None]  # type: ignore[attr-defined]
    got_long = [n for n in long if n in got]
    errors: list[float] = []
    missed = 0
    for name in got_long:
        base = measured[name].offset_ms  # type: ignore[attr-defined]
        for ms in SHIFTS_MS:
            r = measure_sync(str(_shifted(TALKING / name, ms, workdir / f"{name[:-4]}_{ms:+d}.mp4")))
            if r.offset_ms is None:
                missed += 1
            else:
                errors.append(abs(r.offset_ms - base - ms))
    ai = {n: measured[n].offset_ms for n in measured if n.startswith("vrt_")}  # type: ignore[attr-defined]
    rows = [{
        "job": f"lips: {len(clips)} real talking heads ({len(long)} of >= {LONG_S:g} s)",
        "reelforge_s": per_clip_s, "reference_s": None, "goal": ">= 70% of >= 8 s measured",
        "note": (f"measured {len(got)}/{len(clips)} ({100 * len(got) / len(clips):.0f}%), >= {LONG_S:g} s: "
                 f"{len(got_long)}/{len(long)}; per-clip offsets (ms): "
                 + ", ".join(f"{n[:-4]} {measured[n].offset_ms}" for n in measured)),  # type: ignore[attr-defined]
    }, {
        "job": "lips: injected shifts -200..+200 ms on measured >= 8 s clips",
        "reelforge_s": 0.0, "reference_s": None, "goal": "every shift within one frame",
        "note": (f"{len(errors)} shifted copies measured, {missed} not; error median "
                 f"{np.median(errors) if errors else float('nan'):.1f} ms, worst "
                 f"{max(errors) if errors else float('nan'):.1f} ms"),
    }, {
        "job": f"lips: unrelated sound, {cal['pairs']} pairs",
        "reelforge_s": 0.0, "reference_s": None, "goal": "<= 3% accepted",
        "note": (f"accepted {cal['accepted']}/{cal['pairs']} ({100 * cal['accepted'] / max(1, cal['pairs']):.1f}%); "
                 f">= {LONG_S:g} s: {cal['long_accepted']}/{cal['long_pairs']}; Gumbel fit of the scores: "
                 f"mu {cal['fit_mu']}, beta {cal['fit_beta']}"),
    }, {
        "job": "lips: AI-rendered heads (video-retalking examples)",
        "reelforge_s": 0.0, "reference_s": None, "goal": "within one frame of 0",
        "note": ", ".join(f"{n[:-4]} {v}" for n, v in ai.items()),
    }]
    rows.append(_speed(workdir))
    return rows


def _speed(workdir: Path) -> dict:
    """60 s of 1080p30 made of a real talking head (looped, scaled up), checked by the CLI."""
    src = TALKING / "vox_Pose_Source_741400163.mp4"
    clip = workdir / "talking 60s 1080p.mp4"
    _ff("-stream_loop", "5", "-i", str(src), "-t", "60",
        "-vf", "scale=1080:1080:flags=bicubic,pad=1920:1080:420:0,fps=30",
        "-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-pix_fmt", "yuv420p",
        "-c:a", "aac", "-b:a", "128k", "-ar", "48000", str(clip))
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "pipeline", "check", str(clip), "--json"],
                          capture_output=True, text=True)
    took = time.perf_counter() - start
    doc = json.loads(proc.stdout) if proc.stdout.strip() else {}
    feature = (doc.get("sync") or {}).get("feature")
    return {"job": "check 60 s 1080p30 talking head (lips + events + loudness)", "reelforge_s": took,
            "reference_s": None, "goal": f"<= {SPEED_GOAL_S:g} s",
            "note": (f"offset {doc.get('av_offset_ms')} ms by {feature}; goal "
                     f"{'met' if took <= SPEED_GOAL_S else 'MISSED'}")}
