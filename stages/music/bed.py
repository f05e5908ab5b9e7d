"""Music beds: fit a track to the picture, looping a short one with a crossfade centred
on a beat (librosa beat tracking, cached) or trimming a long one, with fades."""

from __future__ import annotations

from fractions import Fraction

from pipeline.errors import InputError
from pipeline.timebase import to_fraction
from pipeline.model.timeline import AudioItem

MAX_CROSSFADE = Fraction(3, 10)


def loop_points(beats: list[float], duration: float) -> tuple[Fraction, Fraction, Fraction]:
    """(loop start, loop end, crossfade): both points on beats, a whole number of bars
    apart where there are enough beats; the crossfade is centred on them and fits inside
    the file. Without beats the whole file loops."""
    dur = to_fraction(round(duration, 4))
    period = None
    if len(beats) >= 2:
        gaps = sorted(b - a for a, b in zip(beats, beats[1:]))
        period = to_fraction(round(gaps[len(gaps) // 2], 4))
    xf = min(MAX_CROSSFADE, period / 2) if period else min(MAX_CROSSFADE, dur / 8)
    half = xf / 2
    usable = [to_fraction(round(b, 4)) for b in beats if b - float(half) >= 0 and b + float(half) <= duration]
    if len(usable) >= 2:
        first = 0
        steps = len(usable) - 1
        if steps >= 4:
            steps -= steps % 4  # whole bars of 4 beats
        return usable[first], usable[first + steps], xf
    return half, dur - half, xf


def bed_item(path: str, duration: float, need: Fraction, start: Fraction, loop: bool,
             fade_in: Fraction, fade_out: Fraction, gain_db: float) -> AudioItem:
    """The music item for a picture `need` seconds long from `start`."""
    dur = to_fraction(round(duration, 4))
    if dur <= 0:
        raise InputError(f"--track {path}: the file has no audio")
    if dur >= need or not loop:
        length = min(dur, need)
        return AudioItem(source=path, start=start, in_point=Fraction(0), out_point=length,
                         fade_in=min(fade_in, length / 2), fade_out=min(fade_out, length / 2),
                         gain_db=gain_db, id="music")
    from pipeline.analysis.beats import beat_times

    info = beat_times(path)
    a, b, xf = loop_points(info.get("beats", []), duration)
    if b - a <= xf * 2:
        raise InputError(f"--track {path}: too short to loop ({float(dur):.2f}s)")
    return AudioItem(source=path, start=start, in_point=Fraction(0), out_point=b, loop=True, loop_start=a,
                     crossfade=xf, length=need, fade_in=min(fade_in, need / 2), fade_out=min(fade_out, need / 2),
                     gain_db=gain_db, id="music")
