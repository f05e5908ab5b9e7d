"""Loudness normalisation for export, in two passes and without dynamic compression.

Pass 1 renders the final mix (the audio graph only: no picture is decoded) to a scratch
WAV and measures it (ITU-R BS.1770 / EBU R128 with ffmpeg's ebur128, true peak 4x
oversampled). Each output then gets a linear gain to its preset's integrated target; a
true-peak limiter is added only where the gained peak would pass the ceiling, and then
pass 2 measures the limited result and corrects the gain once. ffmpeg's loudnorm is never
used: in its single-pass (dynamic) mode it compresses, which is the trap to avoid.
The gain and limiter are written to OutputSettings and applied by render.tracks.master.
"""

from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path
from typing import Sequence

from pipeline.analysis.loudness import Loudness, measure_file
from pipeline.render.settings import OutputSettings
from pipeline.model.timeline import Timeline

# Room left under the ceiling for the codec: AAC can add a few tenths of a dB of
# inter-sample overshoot to a signal that was exactly at the limit.
CODEC_MARGIN_DB = 0.7
MAX_GAIN_DB = 40.0
LIMITER_ROUNDS = 4


def mix_argv(tl: Timeline, sample_rate: int, out: Path) -> list[str]:
    """ffmpeg argv rendering only the timeline's final audio mix to a float WAV."""
    import ffmpeg

    from pipeline.render.audio import silence_spec
    from pipeline.render.graph import clip_sounds
    from pipeline.render.pool import InputPool
    from pipeline.render.spans import frames_to_samples, total_frames
    from pipeline.render.tracks import mix_tracks, reserve_tracks
    from pipeline.render.transitions import join_sound
    from pipeline.ffmpeg import graph_argv, media_path

    fps = tl.canvas.fps
    pool = InputPool()
    silence = InputPool.lavfi_key(silence_spec(sample_rate))
    for clip in tl.video:
        pool.reserve(InputPool.clip_key(clip) if clip.has_audio else silence, "a")
    reserve_tracks(pool, tl, sample_rate)
    # the same sound the render makes: each clip's, cross-faded at transitions, then mixed
    a = join_sound(tl, clip_sounds(tl, fps, sample_rate, pool), fps, sample_rate)
    total = frames_to_samples(total_frames(tl, fps), fps, sample_rate)
    a = mix_tracks(tl, a, sample_rate, total, pool)
    node = ffmpeg.output(a, media_path(out), acodec="pcm_f32le", ar=sample_rate, ac=2, f="wav")
    return graph_argv(node)


def _apply_master(wav: Path, settings: OutputSettings, total: int, out: Path) -> None:
    import ffmpeg

    from pipeline.ffmpeg import graph_argv, media_path, run_ffmpeg_quiet
    from pipeline.render.tracks import master

    a = master(ffmpeg.input(media_path(wav)).audio, settings, total)
    node = ffmpeg.output(a, media_path(out), acodec="pcm_f32le", f="wav")
    run_ffmpeg_quiet(graph_argv(node), "loudness check")


def decide(measured: Loudness, target: float, ceiling: float | None) -> tuple[float, float | None]:
    """(linear gain dB, limiter ceiling dBTP or None) for one target and ceiling."""
    assert measured.integrated_lufs is not None
    gain = max(-MAX_GAIN_DB, min(MAX_GAIN_DB, target - measured.integrated_lufs))
    if ceiling is None or measured.true_peak_dbtp is None:
        return gain, None
    limit = ceiling - CODEC_MARGIN_DB
    return gain, (limit if measured.true_peak_dbtp + gain > limit else None)


def has_sound(tl: Timeline) -> bool:
    if any(c.has_audio for c in tl.video) and not (tl.audio.get("original") and tl.audio["original"].muted):
        return True
    return any(t.items and not t.muted for r, t in tl.audio.items() if r != "original")


def plan(tl: Timeline, settings: Sequence[OutputSettings]) -> list[OutputSettings]:
    """Return the settings with audio_gain_db (and limiter_dbtp where needed) decided so
    each output meets its loudness_lufs target under its true_peak_dbtp ceiling."""
    from pipeline.progress import default_reporter
    from pipeline.render.spans import frames_to_samples, total_frames
    from pipeline.ffmpeg import run_ffmpeg_quiet

    settings = list(settings)
    wanted = [s for s in settings if s.loudness_lufs is not None]
    if not wanted or not tl.video or not has_sound(tl):
        return settings
    reporter = default_reporter()
    rate = wanted[0].sample_rate
    total = frames_to_samples(total_frames(tl, tl.canvas.fps), tl.canvas.fps, rate)
    decided: dict[tuple[float, float | None, int], tuple[float, float | None]] = {}
    with tempfile.TemporaryDirectory(prefix="reelforge-loudness-") as tmp:
        wav = Path(tmp) / "mix.wav"
        run_ffmpeg_quiet(mix_argv(tl, rate, wav), "loudness measurement")
        measured = measure_file(str(wav))
        if measured.integrated_lufs is None:
            reporter.info("loudness: the mix is silent; no gain applied")
            return settings
        reporter.info(f"loudness: mix {measured.integrated_lufs:.1f} LUFS, true peak "
                      f"{measured.true_peak_dbtp if measured.true_peak_dbtp is not None else float('-inf'):.1f} dBTP, "
                      f"range {measured.lra_lu:.1f} LU")
        out = []
        for s in settings:
            if s.loudness_lufs is None:
                out.append(s)
                continue
            key = (s.loudness_lufs, s.true_peak_dbtp, s.sample_rate)
            if key not in decided:
                gain, limit = decide(measured, s.loudness_lufs, s.true_peak_dbtp)
                # Pass 2 (only with the limiter, which takes loudness off the peaks):
                # measure the limited mix and correct the gain, a few times at most.
                for _ in range(LIMITER_ROUNDS if limit is not None else 0):
                    trial = dataclasses.replace(s, audio_gain_db=gain, limiter_dbtp=limit, sample_rate=rate)
                    checked = Path(tmp) / "checked.wav"
                    _apply_master(wav, trial, total, checked)
                    after = measure_file(str(checked))
                    if after.integrated_lufs is None:
                        break
                    miss = s.loudness_lufs - after.integrated_lufs
                    if abs(miss) <= 0.1:
                        break
                    gain += miss
                decided[key] = (round(gain, 3), limit)
                reporter.info(f"loudness: {s.loudness_lufs:g} LUFS target: gain {gain:+.2f} dB"
                              + (f", true-peak limiter at {limit:.1f} dBTP" if limit is not None else ""))
            gain, limit = decided[key]
            out.append(dataclasses.replace(s, audio_gain_db=gain, limiter_dbtp=limit))
    return out
