"""Compile the timeline's audio tracks (voiceover, music, sfx) and mix them with the
clips' own sound, as exactly `total_samples` samples; and the per-output master chain
(loudness gain and true-peak limiter) that export's loudness plan decides.

Every audio file comes from the InputPool: each use (an item, each pass of a loop) is its
own input, read when the timeline reaches it; outputs rendered together share it.
Ducking is a gain envelope computed from the activity of the roles a track ducks under
(the voiceover's audible spans, the speech in the clips' own sound), with short gaps
bridged so the music does not pump between words, written as a volume expression with
the track's attack and release.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from pipeline.timebase import seconds_arg
from pipeline.model.timeline import DIALOGUE, AudioItem, AudioTrack, Ducking, Timeline

MIX_ROLES = ("voiceover", "music", "sfx")
_READ_MARGIN = Fraction(1, 5)
_ENVELOPE_BLOCK = 256  # samples per volume evaluation (5 ms at 48 kHz): no zipper steps


def _tracks(tl: Timeline) -> list[AudioTrack]:
    return [tl.audio[r] for r in MIX_ROLES if r in tl.audio and not tl.audio[r].muted and tl.audio[r].items]


def _passes(item: AudioItem) -> list[tuple[Fraction, Fraction]]:
    """(source in, source out) of each pass of an item; one pass unless it loops."""
    if not item.loop or item.length <= 0:
        return [(item.in_point, item.out_point)]
    half = item.crossfade / 2
    first = (item.in_point, item.out_point + half)
    period = item.out_point - item.loop_start
    if period <= item.crossfade:
        return [first]
    passes = [first]
    covered = first[1] - first[0]
    while covered - half < item.length:
        passes.append((item.loop_start - half, item.out_point + half))
        covered += period
    return passes


def _read_ends(tl: Timeline) -> dict[str, Fraction]:
    """How far into each source file the mix reads (so the input is opened once, short)."""
    ends: dict[str, Fraction] = {}
    for trk in _tracks(tl):
        for item in trk.items:
            end = max(b for _, b in _passes(item))
            ends[item.source] = max(ends.get(item.source, Fraction(0)), end)
    return ends


def _key(source: str, ends: dict[str, Fraction]) -> tuple[str, ...]:
    from pipeline.render.pool import InputPool

    return InputPool.file_key(source, None, ends[source] + _READ_MARGIN)


def reserve_tracks(pool: Any, tl: Timeline, sample_rate: int) -> None:
    """Reserve in the InputPool every input mix_tracks will take (one composition)."""
    ends = _read_ends(tl)
    for trk in _tracks(tl):
        for item in trk.items:
            for _ in _passes(item):
                pool.reserve(_key(item.source, ends), "a")


def _normalise(a: Any, sample_rate: int) -> Any:
    return (a.filter("aresample", sample_rate)
            .filter("aformat", sample_fmts="fltp", channel_layouts="stereo"))


def _item_stream(item: AudioItem, pool: Any, key: tuple[str, ...], sample_rate: int, total: int) -> Any:
    """One item placed on the timeline: trimmed, looped, faded, gained, delayed, padded."""
    parts = []
    for src_in, src_out in _passes(item):
        a = _normalise(pool.take(key, "a"), sample_rate)
        parts.append(a.filter("atrim", start=seconds_arg(src_in), end=seconds_arg(src_out))
                     .filter("asetpts", "PTS-STARTPTS"))
    import ffmpeg

    a = parts[0]
    for nxt in parts[1:]:
        if item.crossfade > 0:
            a = ffmpeg.filter([a, nxt], "acrossfade", d=seconds_arg(item.crossfade), c1="tri", c2="tri")
        else:
            a = ffmpeg.concat(a, nxt, v=0, a=1)
    length = item.duration
    a = a.filter("atrim", end=seconds_arg(length)).filter("asetpts", "PTS-STARTPTS")
    if item.fade_in > 0:
        a = a.filter("afade", t="in", st=0, d=seconds_arg(item.fade_in))
    if item.fade_out > 0:
        a = a.filter("afade", t="out", st=seconds_arg(max(Fraction(0), length - item.fade_out)),
                     d=seconds_arg(item.fade_out))
    if item.gain_db:
        a = a.filter("volume", f"{item.gain_db:.3f}dB")
    delay = int(round(item.start * sample_rate))
    if delay > 0:
        a = a.filter("adelay", delays=f"{delay}S", all=1)
    return a.filter("apad", whole_len=total).filter("atrim", end_sample=total)


def _sum(streams: list[Any], total: int) -> Any:
    import ffmpeg

    if len(streams) == 1:
        return streams[0]
    return ffmpeg.filter(streams, "amix", inputs=len(streams), normalize=0, duration="longest",
                         dropout_transition=0).filter("atrim", end_sample=total)


def voice_activity(tl: Timeline, role: str) -> list[tuple[float, float]]:
    """Timeline spans (seconds) where the `role` track is audible, merged across items;
    for "dialogue", where the clips' own sound is speech (Clip.speech)."""
    from pipeline.analysis.activity import activity

    if role == DIALOGUE:
        from pipeline.analysis.dialogue import dialogue_spans

        return dialogue_spans(tl)
    trk = tl.audio.get(role)
    if trk is None or trk.muted:
        return []
    spans: list[tuple[float, float]] = []
    for item in trk.items:
        if item.loop:
            continue
        for a, b in activity(item.source, float(item.in_point), float(item.out_point)):
            spans.append((float(item.start) + a, float(item.start) + b))
    return sorted(spans)


def duck_expression(spans: list[tuple[float, float]], amount_db: float, attack: float, release: float) -> str:
    """volume expression (of t): 0 dB, falling by amount_db over `attack` before each span
    and rising back over `release` after it. Spans closer than attack+release merge."""
    merged: list[list[float]] = []
    for a, b in spans:
        if merged and a - merged[-1][1] <= attack + release:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    if not merged:
        return "1"
    terms = [f"min(clip((t-{a - attack:.4f})/{attack:.4f},0,1),clip(({b + release:.4f}-t)/{release:.4f},0,1))"
             for a, b in merged]
    depth = terms[0]
    for term in terms[1:]:
        depth = f"max({depth},{term})"
    return f"pow(10,{-amount_db / 20:.5f}*{depth})"


def _track_stream(tl: Timeline, trk: AudioTrack, pool: Any, ends: dict, sample_rate: int, total: int) -> Any:
    a = _sum([_item_stream(it, pool, _key(it.source, ends), sample_rate, total) for it in trk.items], total)
    if trk.gain_db:
        a = a.filter("volume", f"{trk.gain_db:.3f}dB")
    return _ducked(a, tl, trk.duck)


def _ducked(a: Any, tl: Timeline, duck: Ducking | None) -> Any:
    """The stream lowered under every role its ducking names, with its attack and release."""
    if duck is None or duck.amount_db <= 0:
        return a
    spans = sorted(span for role in duck.roles for span in voice_activity(tl, role))
    if duck.within == "speaking-clips":
        from pipeline.analysis.dialogue import speaking_clips

        spans = sorted((max(a, lo), min(b, hi)) for a, b in spans for lo, hi in speaking_clips(tl)
                       if min(b, hi) > max(a, lo))
    if not spans:
        return a
    expr = duck_expression(spans, duck.amount_db, float(duck.attack) or 0.001, float(duck.release) or 0.001)
    return a.filter("asetnsamples", n=_ENVELOPE_BLOCK, p=0).filter("volume", expr, eval="frame")


def mix_tracks(tl: Timeline, original: Any, sample_rate: int, total_samples: int, pool: Any) -> Any:
    """The clips' own sound (with the original track's gain or mute) plus every other track."""
    orig = tl.audio.get("original")
    a = original
    if orig is not None and orig.muted:
        a = a.filter("volume", 0)
    elif orig is not None:
        if orig.gain_db:
            a = a.filter("volume", f"{orig.gain_db}dB")
        a = _ducked(a, tl, orig.duck)  # under the narrator (voiceover over_dialogue: duck)
    a = a.filter("atrim", end_sample=total_samples)
    ends = _read_ends(tl)
    others = [_track_stream(tl, trk, pool, ends, sample_rate, total_samples) for trk in _tracks(tl)]
    if not others:
        return a
    return _sum([a, *others], total_samples)


def master(a: Any, settings: Any, total_samples: int) -> Any:
    """The per-output master chain: the loudness plan's linear gain, then (only where the
    plan asks for it) a true-peak limiter run at 4x the sample rate."""
    gain = getattr(settings, "audio_gain_db", 0.0) or 0.0
    ceiling = getattr(settings, "limiter_dbtp", None)
    if not gain and ceiling is None:
        return a
    if gain:
        a = a.filter("volume", f"{gain:.3f}dB", precision="double")
    if ceiling is not None:
        # Run at 4x the rate the sample peaks are the true peaks (BS.1770 annex 2), so the
        # limiter holds the ceiling however far the gain drives it.
        rate = settings.sample_rate
        release = getattr(settings, "limiter_release_ms", 80.0)
        band = getattr(settings, "limiter_band_hz", None)
        if band:
            # Less for the audio encoder to code at a burst it has few bits for: its
            # quantisation noise is what lifts the peaks there.
            a = a.filter("lowpass", f=band, p=2)
        a = (a.filter("aresample", rate * 4)
             .filter("alimiter", limit=f"{10 ** (ceiling / 20):.6f}", level=0, latency=1,
                     attack=min(2.0, release), release=release)
             .filter("aresample", rate))
        if band:
            a = a.filter("lowpass", f=band, p=2)
    return a.filter("apad", whole_len=total_samples).filter("atrim", end_sample=total_samples)
