"""SubRip (.srt) and WebVTT (.vtt) text for caption cues, written by hand because the
words are plain text in both: a general subtitle library reads `{...}` as override tags
and `\\n` as a line break, and would drop or change what the user typed.

- SubRip has no escaping (SubRip's format is a de-facto standard with no spec of entities):
  the text is written as it is, one line per cue, with line breaks folded to spaces
  so a cue can never end early or forge a new timing line.
- WebVTT (W3C WebVTT, section 4.2.2 "cue text"): `&`, `<` and `>` are written as `&amp;`,
  `&lt;` and `&gt;`, and cue text must not contain "-->" (escaping `>` takes care of
  that) nor a blank line (folded as for SubRip).
"""

from __future__ import annotations

import re
from fractions import Fraction
from typing import Iterable, Protocol

_BREAKS = re.compile(r"\s*[\r\n\u2028\u2029]+\s*")


class TimedText(Protocol):
    start: Fraction
    end: Fraction

    @property
    def text(self) -> str: ...


def _one_line(text: str) -> str:
    return _BREAKS.sub(" ", text).strip()


def _clock(t: Fraction, sep: str) -> str:
    ms = max(0, round(t * 1000))
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def vtt_escape(text: str) -> str:
    """Cue text for WebVTT: the three character references the spec requires."""
    return _one_line(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def srt_text(cues: Iterable[TimedText]) -> str:
    blocks = []
    for i, cue in enumerate(cues, 1):
        blocks.append(f"{i}\n{_clock(cue.start, ',')} --> {_clock(cue.end, ',')}\n{_one_line(cue.text)}\n")
    return "\n".join(blocks)


def vtt_text(cues: Iterable[TimedText]) -> str:
    blocks = ["WEBVTT\n"]
    for cue in cues:
        blocks.append(f"{_clock(cue.start, '.')} --> {_clock(cue.end, '.')}\n{vtt_escape(cue.text)}\n")
    return "\n".join(blocks)
