"""Dialogue: the speech in the clips' own sound, found once per source (pipeline.analysis.vad)
and kept on each clip, then placed on the timeline where ducking and the voiceover need it."""

from __future__ import annotations

from fractions import Fraction

from pipeline.model.timeline import Timeline
from pipeline.timebase import to_fraction


def mark_speech(tl: Timeline) -> int:
    """Give every clip its speech spans (in place) where they are not known yet: the
    clip's whole source is analysed once, so a later trim needs nothing new. Returns how
    many clips speak."""
    from pipeline.analysis.vad import speech_spans

    for clip in tl.video:
        if clip.speech is None:
            spans = speech_spans(clip.source) if clip.has_audio else []
            clip.speech = [[to_fraction(a), to_fraction(b)] for a, b in spans]
    return sum(1 for clip in tl.video if clip.speech)


def clip_dialogue(tl: Timeline) -> list[list[tuple[Fraction, Fraction]]]:
    """For each clip, the timeline spans where its own speech is heard (empty when the clip
    is silent, muted, its speech is unknown, or the original track is muted)."""
    orig = tl.audio.get("original")
    silent = orig is not None and orig.muted
    out: list[list[tuple[Fraction, Fraction]]] = []
    for clip, start in zip(tl.video, tl.clip_starts()):
        spans: list[tuple[Fraction, Fraction]] = []
        if not silent and clip.has_audio and not clip.audio_muted and clip.speech:
            # the clip's sound plays from its in point, moved by audio_shift, and stops
            # where its source does (a held last frame is silent)
            lo, hi = start, start + clip.source_duration
            for a, b in clip.speech:
                t0 = start + (a - clip.in_point) + clip.audio_shift
                t1 = start + (b - clip.in_point) + clip.audio_shift
                t0, t1 = max(t0, lo), min(t1, hi)
                if t1 > t0:
                    spans.append((t0, t1))
        out.append(spans)
    return out


def dialogue_spans(tl: Timeline) -> list[tuple[float, float]]:
    """Timeline seconds where some clip's own speech is heard, sorted."""
    return sorted((float(a), float(b)) for spans in clip_dialogue(tl) for a, b in spans)


def speaking_clips(tl: Timeline) -> list[tuple[float, float]]:
    """Timeline seconds during which a clip whose own sound speaks plays its sound."""
    return [(float(start), float(start + clip.source_duration))
            for clip, start, spans in zip(tl.video, tl.clip_starts(), clip_dialogue(tl)) if spans]
