"""The voiceover track: script parsing, placing lines in time (never overlapping), checks
against cuts and the end of the picture, and assembly of the lines with pydub into one
track file that the timeline's voiceover items point into.

Word times in AudioItem.words are timeline seconds (absolute), ready for captions.
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, Callable

from pipeline.errors import InputError
from pipeline.timebase import to_fraction
from pipeline.model.timeline import AudioItem, Timeline, Word
from pipeline.analysis.activity import SILENCE_DBFS

GAP = Fraction(3, 10)  # pause between lines that follow one another
LEAD = Fraction(1, 4)  # where the first unplaced line starts
FIT_MODES = ("extend", "trim", "warn")
_CUE = re.compile(r"^\s*\[([^\]]*)\]\s*(.*)$")


@dataclass
class Cue:
    """One line of a script or one recorded file, with where it should go."""

    text: str
    at: Fraction | None = None  # explicit time
    shot: str | None = None  # shot id
    audio: str | None = None  # recorded file (None: synthesise `text`)
    where: str = ""


@dataclass
class Line:
    """A cue with its audio decided: samples (mono int16 at the track rate) and words
    relative to its own start."""

    cue: Cue
    segment: Any  # pydub.AudioSegment
    words: list[dict] = field(default_factory=list)
    start: Fraction = Fraction(0)

    @property
    def duration(self) -> Fraction:
        return Fraction(len(self.segment.get_array_of_samples()), self.segment.frame_rate)

    @property
    def end(self) -> Fraction:
        return self.start + self.duration


def parse_script(text: str, where: str = "script") -> list[Cue]:
    """`[shot-id] text`, `[12.5] text` or plain text, one cue per line; # starts a comment."""
    cues = []
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        at = shot = None
        m = _CUE.match(line)
        if m:
            tag, line = m.group(1).strip(), m.group(2).strip()
            try:
                at = to_fraction(float(tag))
                if at < 0:
                    raise InputError(f"{where}:{n}: time [{tag}] is negative")
            except ValueError:
                if not tag:
                    raise InputError(f"{where}:{n}: empty [] before the text") from None
                shot = tag
        if not line:
            raise InputError(f"{where}:{n}: no text after [{m.group(1) if m else ''}]")
        cues.append(Cue(text=line, at=at, shot=shot, where=f"{where}:{n}"))
    if not cues:
        raise InputError(f"{where}: the script has no lines")
    return cues


def shot_start(tl: Timeline, shot: str, where: str) -> Fraction:
    """Timeline time at which the shot with this id (or label) takes over the picture: its
    start, or the middle of the transition into it (where the cut is seen)."""
    entries = [Fraction(0), *tl.cut_times()]
    for clip, start in zip(tl.video, entries):
        if shot in (clip.id, clip.label):
            return start
    known = ", ".join(dict.fromkeys(c.id or c.label for c in tl.video)) or "none"
    raise InputError(f"{where}: no shot '{shot}' in the timeline (shots: {known})")


def pydub() -> Any:
    """pydub, pointed at our ffmpeg (it only looks on PATH, and warns when absent)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # "couldn't find ffmpeg": set below
        warnings.simplefilter("ignore", DeprecationWarning)  # audioop, inside pydub
        import pydub as module
    from pipeline.ffmpeg import lend_to_pydub

    lend_to_pydub(module)
    return module


def to_segment(samples: Any, rate: int) -> Any:
    """float32 mono samples -> a pydub AudioSegment (16-bit mono)."""
    import numpy as np

    AudioSegment = pydub().AudioSegment

    pcm = (np.clip(samples, -1.0, 1.0) * 32767.0).astype("<i2").tobytes()
    return AudioSegment(data=pcm, sample_width=2, frame_rate=rate, channels=1)


def trim_silence(seg: Any, words: list[dict]) -> tuple[Any, list[dict]]:
    """Cut a synthesised line's leading and trailing silence so its onset is its start."""
    pydub()
    from pydub.silence import detect_leading_silence

    lead = detect_leading_silence(seg, silence_threshold=SILENCE_DBFS, chunk_size=1)
    tail = detect_leading_silence(seg.reverse(), silence_threshold=SILENCE_DBFS, chunk_size=1)
    if lead + tail >= len(seg):
        return seg, words
    seg = seg[lead: len(seg) - tail]
    shift = lead / 1000.0
    length = len(seg) / 1000.0
    out = [{"text": w["text"], "start": round(max(0.0, w["start"] - shift), 4),
            "end": round(min(length, max(0.0, w["end"] - shift)), 4)} for w in words]
    return seg, [w for w in out if w["end"] > w["start"]]


def place(tl: Timeline, lines: list[Line], warn: Callable[[str], None],
          dialogue: list[tuple[Fraction, Fraction]] | None = None) -> int:
    """Give every line a start: its time, its shot's start, or after the previous line;
    push lines that would overlap the previous one (with a warning when they were placed).
    With `dialogue` (timeline spans of the clips' own speech), a `[shot]` line moves to
    the first gap in its shot's dialogue that fits it, or stays with a warning. Returns
    how many lines moved clear of dialogue."""
    prev_end: Fraction | None = None
    moved = 0
    for line in lines:
        cue = line.cue
        if cue.at is not None:
            want = cue.at
        elif cue.shot is not None:
            want = shot_start(tl, cue.shot, cue.where)
        else:
            want = LEAD if prev_end is None else prev_end + GAP
        if prev_end is not None and want < prev_end + Fraction(1, 20):
            if cue.at is not None:
                warn(f"{cue.where}: line moved from {float(want):.2f}s to {float(prev_end + GAP):.2f}s "
                     f"so it does not overlap the line before")
            want = prev_end + GAP
        if dialogue is not None:
            clear = _clear_of_dialogue(tl, line, Fraction(round(want * 1000), 1000), dialogue, warn)
            moved += clear != want
            want = clear
        line.start = Fraction(round(want * 1000), 1000)
        prev_end = line.end
    return moved


def _clear_of_dialogue(tl: Timeline, line: Line, want: Fraction, dialogue: list[tuple[Fraction, Fraction]],
                       warn: Callable[[str], None]) -> Fraction:
    """Where a line starts so it does not talk over the clips' dialogue (voiceover
    over_dialogue: avoid): a [shot] line moves within its shot; others only warn."""
    from stages.voiceover.dialogue import MARGIN, free_start, overlaps, shot_end, shot_index

    cue = line.cue
    if not overlaps(want - MARGIN, want + line.duration + MARGIN, dialogue):
        return want
    index = shot_index(tl, cue.shot) if cue.shot is not None else None
    if index is None:
        warn(f"{cue.where}: line \"{_short(cue.text)}\" plays over the clips' dialogue at {float(want):.2f}s "
             f"(only [shot] lines are moved clear of it)")
        return want
    start = free_start(want, line.duration, shot_end(tl, index), dialogue)
    if start is None:
        warn(f"{cue.where}: no gap in the dialogue of shot '{cue.shot}' fits the line \"{_short(cue.text)}\" "
             f"({float(line.duration):.2f}s); it plays over the dialogue")
        return want
    return Fraction(math.ceil(start * 1000), 1000)


# --fit extend holds the last frame at most this long (seconds): a mistyped --at must not
# become hours of picture and silence.
MAX_HOLD = 600


def check_fit(tl: Timeline, lines: list[Line], fit: str, warn: Callable[[str], None]) -> Timeline:
    """Warn about lines that cross a cut or run past the picture; extend or trim."""
    cuts = tl.cut_times()
    for line in lines:
        for c in cuts:
            if line.start + Fraction(1, 20) < c < line.end - Fraction(1, 20):
                warn(f"{line.cue.where}: line \"{_short(line.cue.text)}\" ({float(line.start):.2f}-"
                     f"{float(line.end):.2f}s) crosses the cut at {float(c):.2f}s")
    end = tl.duration
    over = [ln for ln in lines if ln.end > end]
    if not over:
        return tl
    last = max(ln.end for ln in lines)
    if fit == "extend":
        tl = tl.copy()
        if not tl.video:
            raise InputError("voiceover --fit extend: the timeline has no clips to hold")
        extra = last - end + GAP
        if extra > MAX_HOLD:
            late = max(lines, key=lambda ln: ln.end)
            raise InputError(f"{late.cue.where}: the line ends {float(last - end):.0f}s after the picture; "
                             f"--fit extend holds the last frame at most {MAX_HOLD}s")
        tl.video[-1].hold += extra
        warn(f"voiceover runs {float(last - end):.2f}s past the picture: holding the last frame "
             f"{float(extra):.2f}s longer")
    elif fit == "trim":
        for ln in over:
            keep_ms = int((end - ln.start) * 1000)
            if keep_ms <= 0:
                warn(f"{ln.cue.where}: line starts after the picture ends; dropped")
                ln.segment = ln.segment[:0]
                continue
            ln.segment = ln.segment[:keep_ms].fade_out(min(30, keep_ms))
            ln.words = [w for w in ln.words if w["start"] < keep_ms / 1000.0]
            warn(f"{ln.cue.where}: line cut at the end of the picture ({float(end):.2f}s)")
    else:
        for ln in over:
            if ln.start >= end:  # never heard: the render stops with the picture
                warn(f"{ln.cue.where}: line starts after the picture ends ({float(end):.2f}s); dropped "
                     f"(use --fit extend to hold the picture)")
                ln.segment = ln.segment[:0]
                ln.words = []
                continue
            warn(f"{ln.cue.where}: line \"{_short(ln.cue.text)}\" runs {float(ln.end - end):.2f}s past "
                 f"the picture (use --fit extend or --fit trim)")
    return tl


def _short(text: str, n: int = 32) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def assemble(lines: list[Line], rate: int, folder: Path) -> Path:
    """Lay the lines on one silent track with pydub; written once per content."""
    AudioSegment = pydub().AudioSegment

    lines = [ln for ln in lines if len(ln.segment)]
    total_ms = int(max(ln.end for ln in lines) * 1000) + 50
    track = AudioSegment.silent(duration=total_ms, frame_rate=rate).set_channels(1).set_sample_width(2)
    for ln in lines:
        track = track.overlay(ln.segment, position=int(ln.start * 1000))
    data = track.raw_data
    digest = hashlib.sha256(data + str(rate).encode()).hexdigest()[:32]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"voiceover-{digest}.wav"
    if not path.exists():
        from pipeline.files import atomic_output

        with atomic_output(path) as tmp:
            track.export(str(tmp), format="wav")
    return path


def items_for(lines: list[Line], track_path: Path) -> list[AudioItem]:
    """One AudioItem per line, each pointing at its span of the assembled track."""
    items = []
    for i, ln in enumerate(lines, 1):
        if not len(ln.segment):
            continue
        start, end = ln.start, ln.end
        words = [Word(w["text"], start + to_fraction(w["start"]), start + to_fraction(w["end"])) for w in ln.words]
        items.append(AudioItem(source=str(track_path), start=start, in_point=start, out_point=end,
                               id=f"vo{i}", text=ln.cue.text, words=words))
    return items
