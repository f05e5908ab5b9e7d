"""Loudness normalisation for export, measured on what the files will carry, without
dynamic compression.

Pass 1 renders the final mix (the audio graph only: no picture is decoded) to a scratch
WAV and measures it (ITU-R BS.1770 / EBU R128 with ffmpeg's ebur128, true peak 4x
oversampled). Each output then gets a linear gain to its preset's integrated target. Where
the gained peaks would pass the ceiling, a true-peak limiter (run at 4x the sample rate, so
it holds however far the gain drives it) takes them, and the plan measures trials: the
mix through the output's own master chain and audio encoder (audio only, seconds of work),
because the limiter takes loudness off the peaks and the codec adds its own overshoot.
Each trial either moves the whole level (gain and limiter ceiling together: the waveform
keeps its shape, so loudness and peak move as one) when the peak-to-loudness ratio fits,
or drives the limiter harder (with a shorter release when the longer one stops gaining)
when it does not. ffmpeg's loudnorm is never used: in its single-pass (dynamic) mode it
compresses, which is the trap to avoid. The decisions are written to OutputSettings and
applied by render.tracks.master in the one encode per output.
"""

from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path
from typing import Callable, Sequence

from pipeline.analysis.loudness import Loudness, measure_file
from pipeline.render.settings import OutputSettings
from pipeline.model.timeline import Timeline

# Room left under the ceiling for the codec: AAC can add a few tenths of a dB of
# inter-sample overshoot to a signal that was exactly at the limit.
CODEC_MARGIN_DB = 0.7
MAX_GAIN_DB = 90.0  # beyond this there is nothing but the noise floor to raise
NOISE_FLOOR_GAIN_DB = 30.0  # more gain than this is reported before encoding
TRIAL_ROUNDS = 10
PLACING_ROUNDS = 3
LOUDNESS_AIM_LU = 0.2  # a trial this close to the target is done
LOUDNESS_TOLERANCE_LU = 0.4  # within the +-0.5 LU aim, with room for rounding
PEAK_AIM_DB = 0.2  # and this far under the ceiling
RELEASES_MS = (80.0, 20.0, 5.0, 1.0)  # the limiter's release, shortened only when needed
LIMITER_FLOOR_DB = -24.0  # alimiter's lowest ceiling
# Last resort, tried only when no trial at full band fits: the audio encoder adds
# quantisation noise to a burst it has few bits for (one at the very start of a stream,
# before its bit reservoir fills), and that noise lifts the peaks. Band-limiting around
# the limiter leaves it less to code.
LAST_RESORT_BANDS_HZ = (12000.0, 8000.0)


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


def _trial(wav: Path, settings: OutputSettings, total: int, out: Path) -> Loudness:
    """The mix through this output's master chain and its own audio encoder, measured."""
    import ffmpeg

    from pipeline.ffmpeg import graph_argv, media_path, run_ffmpeg_quiet
    from pipeline.render.tracks import master

    a = master(ffmpeg.input(media_path(wav)).audio, settings, total)
    node = ffmpeg.output(a, media_path(out), **settings.audio_args())
    run_ffmpeg_quiet(graph_argv(node), "loudness trial")
    return measure_file(str(out))


def decide(measured: Loudness, target: float, ceiling: float | None) -> tuple[float, float | None]:
    """(linear gain dB, limiter ceiling dBTP or None): the first guess for one target."""
    assert measured.integrated_lufs is not None
    gain = max(-MAX_GAIN_DB, min(MAX_GAIN_DB, target - measured.integrated_lufs))
    if ceiling is None or measured.true_peak_dbtp is None:
        return gain, None
    limit = ceiling - CODEC_MARGIN_DB
    return gain, (limit if measured.true_peak_dbtp + gain > limit else None)


# Clip fields that change only the picture: timelines that differ in nothing else (the
# reframed copies export makes for each shape) have the same mix, planned once.
PICTURE_ONLY = ("crop", "fit", "color", "label")


def sound_key(tl: Timeline) -> str:
    """Equal for two timelines whose mixes are the same."""
    import json

    d = tl.to_dict()
    video = [{k: v for k, v in c.items() if k not in PICTURE_ONLY} for c in d.get("video", [])]
    canvas = {k: v for k, v in d.get("canvas", {}).items() if k not in ("width", "height")}
    return json.dumps({"video": video, "audio": d.get("audio"), "canvas": canvas}, sort_keys=True, default=str)


def has_sound(tl: Timeline) -> bool:
    if any(c.has_audio for c in tl.video) and not (tl.audio.get("original") and tl.audio["original"].muted):
        return True
    return any(t.items and not t.muted for r, t in tl.audio.items() if r != "original")


@dataclasses.dataclass(frozen=True)
class Decision:
    gain_db: float
    limiter_dbtp: float | None
    release_ms: float
    band_hz: float | None
    result: Loudness  # what the trial encode of these settings measured
    reached: bool

    def apply(self, s: OutputSettings) -> OutputSettings:
        return dataclasses.replace(s, audio_gain_db=round(self.gain_db, 3), limiter_dbtp=self.limiter_dbtp,
                                   limiter_release_ms=self.release_ms, limiter_band_hz=self.band_hz)


def search(measured: Loudness, s: OutputSettings, trial: Callable[[OutputSettings], Loudness]) -> Decision:
    """Gain, limiter ceiling and release that bring `s`'s encoded audio to its loudness
    target under its true-peak ceiling, found by measured trials: at full band first, and
    band-limited around the limiter only when nothing at full band fits."""
    trial = _remembered(trial)
    best = _search_band(measured, s, trial, None)
    if best.reached or s.true_peak_dbtp is None or best.limiter_dbtp is None:
        return best
    for band in LAST_RESORT_BANDS_HZ:
        # a last resort stops at the first result within tolerance
        here = _search_band(measured, s, trial, band, lambda d: d.reached or _within(d, s))
        if here.reached or _within(here, s):
            return here
        best = here if _cost(here, s) < _cost(best, s) else best
    return best


def _search_band(measured: Loudness, s: OutputSettings, trial: Callable[[OutputSettings], Loudness],
                 band: float | None, done: Callable[[Decision], bool] = lambda d: d.reached) -> Decision:
    """One search at one band limit. When no shape of the sound fits (a click in silence
    cannot be made loud without its peaks), the one with the lowest peak-to-loudness ratio
    is placed with its peaks just under the ceiling: the loudest result that keeps the
    ceiling."""
    target = s.loudness_lufs
    ceiling = s.true_peak_dbtp
    assert target is not None and measured.integrated_lufs is not None
    gain, limit = decide(measured, target, ceiling)
    room = (ceiling - PEAK_AIM_DB - target) if ceiling is not None else float("inf")
    release_i = 0
    last_drive: tuple[float, float] | None = None  # (drive step, ratio before it)
    best: Decision | None = None
    tightest: tuple[float, Decision] | None = None  # (lowest ratio, its trial)
    for _ in range(TRIAL_ROUNDS):
        here = _run(trial, s, gain, limit, RELEASES_MS[release_i], band)
        if here is None:
            break
        best = here if best is None or _cost(here, s) < _cost(best, s) else best
        if done(here):
            return here
        level, peak = here.result.integrated_lufs, here.result.true_peak_dbtp
        assert level is not None
        ratio = (peak - level) if peak is not None else 0.0
        if tightest is None or ratio < tightest[0]:
            tightest = (ratio, here)
        if ratio <= room:
            # The shape fits: move the whole level, gain and ceiling together.
            shift = target - level
            gain += shift
            if limit is not None:
                limit = min(0.0, limit + shift)
            last_drive = None
            continue
        # Peaks too high for this loudness: limit, or drive the limiter harder.
        if limit is None:
            limit = ceiling - CODEC_MARGIN_DB if ceiling is not None else None
            continue
        if last_drive is not None and last_drive[1] - ratio < 0.25 * last_drive[0] and release_i + 1 < len(RELEASES_MS):
            release_i += 1  # the longer release has stopped gaining: let go faster
        step = min(12.0, max(1.0, (ratio - room) * 1.5))
        if gain + step > MAX_GAIN_DB:
            break
        gain += step
        last_drive = (step, ratio)
    if tightest is not None and ceiling is not None and best is not None and not best.reached:
        _, shape = tightest
        for _ in range(PLACING_ROUNDS):  # the codec's overshoot scales nearly, not exactly
            if shape.result.true_peak_dbtp is None or shape.limiter_dbtp is None:
                break
            shift = (ceiling - PEAK_AIM_DB / 2) - shape.result.true_peak_dbtp
            placed = _run(trial, s, shape.gain_db + shift,
                          max(LIMITER_FLOOR_DB, min(0.0, shape.limiter_dbtp + shift)), shape.release_ms, band)
            if placed is None:
                break
            if _cost(placed, s) < _cost(best, s):
                best = placed
            if done(placed) or abs(shift) < 0.1:
                break
            shape = placed
    assert best is not None
    return best


def _run(trial: Callable[[OutputSettings], Loudness], s: OutputSettings, gain: float, limit: float | None,
         release: float, band: float | None) -> Decision | None:
    got = trial(dataclasses.replace(s, audio_gain_db=gain, limiter_dbtp=limit, limiter_release_ms=release,
                                    limiter_band_hz=band if limit is not None else None))
    if got.integrated_lufs is None:
        return None
    assert s.loudness_lufs is not None
    level_ok = abs(got.integrated_lufs - s.loudness_lufs) <= LOUDNESS_AIM_LU
    peak_ok = s.true_peak_dbtp is None or got.true_peak_dbtp is None or \
        got.true_peak_dbtp <= s.true_peak_dbtp - PEAK_AIM_DB / 2
    return Decision(gain, limit, release, band if limit is not None else None, got, level_ok and peak_ok)


def _remembered(trial: Callable[[OutputSettings], Loudness]) -> Callable[[OutputSettings], Loudness]:
    """`trial`, run once per distinct master chain."""
    seen: dict[tuple, Loudness] = {}

    def run(t: OutputSettings) -> Loudness:
        key = (round(t.audio_gain_db, 2), t.limiter_dbtp and round(t.limiter_dbtp, 2), t.limiter_release_ms,
               t.limiter_band_hz)
        if key not in seen:
            seen[key] = trial(t)
        return seen[key]
    return run


def _within(d: Decision, s: OutputSettings) -> bool:
    """Close enough to the target (see LOUDNESS_TOLERANCE_LU) and under the ceiling."""
    got = d.result
    assert s.loudness_lufs is not None and got.integrated_lufs is not None
    return abs(got.integrated_lufs - s.loudness_lufs) <= LOUDNESS_TOLERANCE_LU and (
        s.true_peak_dbtp is None or got.true_peak_dbtp is None or got.true_peak_dbtp <= s.true_peak_dbtp)


def _cost(d: Decision, s: OutputSettings) -> float:
    """How far a trial is from what verification asks; a peak over the ceiling weighs most."""
    assert s.loudness_lufs is not None and d.result.integrated_lufs is not None
    cost = max(0.0, abs(d.result.integrated_lufs - s.loudness_lufs) - LOUDNESS_AIM_LU)
    if s.true_peak_dbtp is not None and d.result.true_peak_dbtp is not None:
        cost += 3 * max(0.0, d.result.true_peak_dbtp - (s.true_peak_dbtp - PEAK_AIM_DB / 2))
    return cost


def plan(tl: Timeline, settings: Sequence[OutputSettings], names: Sequence[str] = ()) -> list[OutputSettings]:
    """Return the settings with audio_gain_db (and the limiter where needed) decided so
    each output meets its loudness_lufs target under its true_peak_dbtp ceiling. `names`
    (one per setting) name the outputs in warnings."""
    from pipeline.ffmpeg import run_ffmpeg_quiet
    from pipeline.progress import default_reporter
    from pipeline.render.spans import frames_to_samples, total_frames

    settings = list(settings)
    names = list(names) or [f"output {i + 1}" for i in range(len(settings))]
    wanted = [s for s in settings if s.loudness_lufs is not None]
    if not wanted or not tl.video or not has_sound(tl):
        return settings
    reporter = default_reporter()
    rate = wanted[0].sample_rate
    total = frames_to_samples(total_frames(tl, tl.canvas.fps), tl.canvas.fps, rate)
    decided: dict[tuple, Decision] = {}
    with tempfile.TemporaryDirectory(prefix="reelforge-loudness-") as tmp:
        wav = Path(tmp) / "mix.wav"
        run_ffmpeg_quiet(mix_argv(tl, rate, wav), "loudness measurement")
        measured = measure_file(str(wav))
        if measured.integrated_lufs is None:
            reporter.info("loudness: the mix is silent; no gain applied")
            return settings
        peak = measured.true_peak_dbtp if measured.true_peak_dbtp is not None else float("-inf")
        reporter.info(f"loudness: mix {measured.integrated_lufs:.1f} LUFS, true peak {peak:.1f} dBTP, "
                      f"range {measured.lra_lu:.1f} LU")
        out = []
        for s, name in zip(settings, names):
            if s.loudness_lufs is None:
                out.append(s)
                continue
            key = (s.loudness_lufs, s.true_peak_dbtp, s.sample_rate, s.channels, s.audio_codec, s.audio_bitrate)
            if key not in decided:
                at_rate = dataclasses.replace(s, sample_rate=rate)  # the trial runs at the mix's rate
                ext = ".m4a" if s.audio_codec == "aac" else ".mka"
                trial_path = Path(tmp) / f"trial{len(decided)}{ext}"
                decided[key] = d = search(measured, at_rate, lambda t: _trial(wav, t, total, trial_path))
                reporter.info(f"loudness: {s.loudness_lufs:g} LUFS target: gain {d.gain_db:+.2f} dB"
                              + (f", true-peak limiter at {d.limiter_dbtp:.1f} dBTP" if d.limiter_dbtp is not None else ""))
                if d.band_hz is not None:
                    reporter.warn(f"{name}: to reach {s.loudness_lufs:g} LUFS under the ceiling the sound is "
                                  f"band-limited to {d.band_hz / 1000:g} kHz around the limiter")
            d = decided[key]
            if d.gain_db > NOISE_FLOOR_GAIN_DB:
                reporter.warn(f"{name}: raising the mix by {d.gain_db:+.1f} dB to reach {s.loudness_lufs:g} LUFS; "
                              f"at {measured.integrated_lufs:.1f} LUFS it is close to the noise floor")
            if not d.reached and not _within(d, s):
                got = d.result
                under = f" under {s.true_peak_dbtp:g} dBTP" if s.true_peak_dbtp is not None else ""
                reporter.warn(f"{name}: the closest the sound gets to {s.loudness_lufs:g} LUFS{under} is "
                              f"{got.integrated_lufs:.1f} LUFS at "
                              f"{got.true_peak_dbtp if got.true_peak_dbtp is not None else float('-inf'):.1f} dBTP")
            out.append(d.apply(s))
    return out
