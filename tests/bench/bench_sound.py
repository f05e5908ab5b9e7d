"""Sound jobs: speech synthesis, the loudness measuring pass, and an export with voice,
music and ducking, against hand-written ffmpeg commands doing comparable work."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from pipeline.ffmpeg import ffmpeg_exe

SECONDS = 12.0


def _t(fn, *args, **kwargs) -> float:  # noqa: ANN001
    start = time.perf_counter()
    fn(*args, **kwargs)
    return time.perf_counter() - start


def run(workdir: Path) -> list[dict]:
    from pipeline.delivery import loudness
    from pipeline.render import render
    from pipeline.render.settings import OutputSettings
    from pipeline.run.stage import StageContext, get_stage, validate_params
    from pipeline.adapters.inputs import load_inputs
    from tests.media import make_clip
    from tests.soundkit import click_bed, write_audio

    clips = [make_clip(workdir / f"c{i}.mp4", size="480x270", duration=SECONDS / 3) for i in range(3)]
    bed = write_audio(workdir / "bed.wav", click_bed(5.0) * 0.8)
    script = workdir / "vo.txt"
    script.write_text("[0.5] Every trail starts before sunrise.\n[4.2] Built for long days outside.\n"
                      "[8.3] Trailforge. Made for the summit.\n")
    ctx = StageContext(base_dir=workdir)
    ctx.info = lambda m: None  # type: ignore[method-assign]
    ctx.warn = lambda m: None  # type: ignore[method-assign]

    def apply(name: str, tl, **raw):  # noqa: ANN001, ANN202
        stage = get_stage(name)
        return stage.apply(tl, validate_params(stage, raw, "bench"), ctx)

    rows = []
    tl = load_inputs(clips)
    start = time.perf_counter()
    tl = apply("voiceover", tl, script=str(script))
    vo_cold = time.perf_counter() - start
    vo_warm = _t(apply, "voiceover", load_inputs(clips), script=str(script))
    rows.append({"job": "voiceover, 3 lines, local speech (cold cache)", "reelforge_s": vo_cold,
                 "reference_s": None, "goal": "< 2 s", "note": f"cached: {vo_warm:.2f}s"})
    start = time.perf_counter()
    tl = apply("music", tl, track=str(bed))
    rows.append({"job": "music, 5 s bed looped on beats to 12 s", "reelforge_s": time.perf_counter() - start,
                 "reference_s": None, "goal": "beat tracking dominates (librosa)", "note": "cold cache"})

    settings = OutputSettings(width=480, height=270, fps=tl.canvas.fps, x264_preset="veryfast", crf=23,
                              profile=None, loudness_lufs=-14.0, true_peak_dbtp=-1.0)
    start = time.perf_counter()
    planned = loudness.plan(tl, [settings])
    plan_s = time.perf_counter() - start
    mix = workdir / "mix.wav"
    subprocess.run(loudness.mix_argv(tl, 48000, mix), check=True)
    ref = _t(subprocess.run, [ffmpeg_exe(), "-hide_banner", "-nostats", "-i", str(mix), "-af",
                              "ebur128=peak=true:framelog=quiet", "-f", "null", "-"], capture_output=True, check=True)
    rows.append({"job": "loudness plan (render mix + measure + limiter check)", "reelforge_s": plan_s,
                 "reference_s": ref, "goal": "a fraction of the export",
                 "note": f"reference measures a ready mix only; gain {planned[0].audio_gain_db:+.1f} dB"})

    out = workdir / "scored.mp4"
    export_s = _t(render, tl, [(planned[0], out)])
    vo = tl.track("voiceover").items[0].source
    ref_out = workdir / "reference.mp4"
    concat = "".join(f"[{i}:v]" for i in range(3))
    graph = (f"{concat}concat=n=3:v=1:a=0[v];[3:a]aresample=48000,asplit[vm][vs];"
             f"[4:a]aresample=48000,aloop=loop=-1:size=240000,atrim=end={SECONDS}[m];"
             f"[m][vs]sidechaincompress=threshold=0.02:ratio=8:attack=80:release=400[md];"
             f"[vm][md]amix=inputs=2:normalize=0,volume=6dB,atrim=end={SECONDS}[a]")
    argv = [ffmpeg_exe(), "-hide_banner", "-v", "error", "-y"]
    for c in clips:
        argv += ["-i", str(c)]
    argv += ["-i", vo, "-i", str(bed), "-filter_complex", graph, "-map", "[v]", "-map", "[a]",
             "-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-c:a", "aac", "-b:a", "192k", str(ref_out)]
    ref_s = _t(subprocess.run, argv, check=True)
    rows.append({"job": "render 12 s 480x270 with voice, looped music, ducking, loudness gain",
                 "reelforge_s": export_s, "reference_s": ref_s, "goal": "within 1.3x of the reference",
                 "note": "reference: concat + sidechaincompress + amix"})
    return rows
