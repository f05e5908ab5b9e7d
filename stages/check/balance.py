"""Music against speech: how far the bed sits under the narrator and under the clips' own
dialogue where they overlap. Broadcast practice keeps speech clearly above the bed; below
MIN_GAP_DB the check warns.

Levels come from the sources (RMS over each span, as the mix places it) plus every gain
the mix applies: item, track and clip gains, and the music's ducking, which reaches its
full depth over a span it ducks under (its attack ends where the speech starts).
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

MIN_GAP_DB = 10.0
_RATE = 16000


def _level_db(path: str, start: float, end: float) -> float | None:
    """RMS level (dBFS) of a source between two of its own times; None when silent."""
    import numpy as np

    from pipeline.analysis.audio import decode_audio

    if end <= start:
        return None
    y = decode_audio(path, sample_rate=_RATE, mono=True, start=Fraction(round(start * 1000), 1000),
                     duration=Fraction(round((end - start) * 1000), 1000))
    if y.size == 0:
        return None
    rms = float(np.sqrt(np.mean(np.square(y, dtype=np.float64))))
    return float(20 * np.log10(rms)) if rms > 1e-6 else None


def _speech(tl: Any) -> list[tuple[str, float, float, float]]:
    """(role, timeline start, end, level dBFS in the mix) of every stretch of speech."""
    from pipeline.analysis.dialogue import clip_dialogue
    from pipeline.render.tracks import voice_activity

    out: list[tuple[str, float, float, float]] = []
    vo = tl.audio.get("voiceover")
    if vo is not None and not vo.muted:
        for item in vo.items:
            for a, b in voice_activity(tl, "voiceover"):
                a, b = max(a, float(item.start)), min(b, float(item.end))
                src = float(item.in_point) - float(item.start)
                level = _level_db(item.source, a + src, b + src) if b > a else None
                if level is not None:
                    out.append(("voiceover", a, b, level + item.gain_db + vo.gain_db))
    orig = tl.audio.get("original")
    track_gain = orig.gain_db if orig is not None else 0.0
    for clip, start, spans in zip(tl.video, tl.clip_starts(), clip_dialogue(tl)):
        for a, b in spans:
            src = float(clip.in_point - start - clip.audio_shift)
            level = _level_db(clip.source, float(a) + src, float(b) + src)
            if level is not None:
                out.append(("dialogue", float(a), float(b), level + clip.audio_gain_db + track_gain))
    return out


def _music_level(tl: Any, a: float, b: float) -> float | None:
    """The bed's level over a timeline span, before ducking (None: no music there)."""
    music = tl.audio.get("music")
    if music is None or music.muted:
        return None
    for item in music.items:
        start, end = float(item.start), float(item.end)
        lo, hi = max(a, start), min(b, end)
        if hi <= lo:
            continue
        if item.loop:  # a looped bed: its level over the looped part
            level = _level_db(item.source, float(item.loop_start), float(item.out_point))
        else:
            off = float(item.in_point) - start
            level = _level_db(item.source, lo + off, hi + off)
        if level is not None:
            return level + item.gain_db + music.gain_db
    return None


def speech_balance(tl: Any) -> dict[str, Any] | None:
    """How far the music sits under speech where both play: per stretch of speech and the
    least of them. None when music and speech never overlap."""
    music = tl.audio.get("music")
    if music is None or music.muted or not music.items:
        return None
    ducked = set(music.duck.roles) if music.duck is not None and music.duck.amount_db > 0 else set()
    rows = []
    for role, a, b, speech in _speech(tl):
        bed = _music_level(tl, a, b)
        if bed is None:
            continue
        if role in ducked:
            bed -= music.duck.amount_db
        rows.append({"role": role, "start": round(a, 3), "end": round(b, 3), "difference_db": round(speech - bed, 1)})
    if not rows:
        return None
    return {"spans": rows, "min_difference_db": min(r["difference_db"] for r in rows), "threshold_db": MIN_GAP_DB}


def timeline_balance(tl: Any) -> dict[str, Any] | None:
    """speech_balance once the clips' speech is known (found in place where it is not)."""
    from pipeline.analysis.dialogue import mark_speech

    mark_speech(tl)
    return speech_balance(tl)


def balance_check(doc: dict[str, Any], make_check: Any) -> Any:
    """The music_under_speech check of a speech_balance document: it passes, with a
    warning when some speech is under MIN_GAP_DB above the music."""
    worst = min(doc["spans"], key=lambda r: r["difference_db"])
    low = [r for r in doc["spans"] if r["difference_db"] < MIN_GAP_DB]
    detail = (f"speech {worst['difference_db']:.1f} dB above the music at worst ({worst['role']} "
              f"{worst['start']:.2f}-{worst['end']:.2f} s), over {len(doc['spans'])} stretch(es) of speech")
    if low:
        detail += f"; {len(low)} under {MIN_GAP_DB:g} dB: lower the music or duck it further"
    return make_check("music_under_speech", True, detail, warning=bool(low))
