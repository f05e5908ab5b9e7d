"""Captions from the voiceover's word timings: cues for .srt/.vtt sidecars, and timed
transparent images that export overlays (burned-in) inside each preset's safe area.

Text is drawn with Pillow and Roboto Bold from the font-roboto package (Latin, Greek,
Cyrillic; Pillow's built-in font if that package is missing), never with system fonts or
ffmpeg's drawtext: nothing a user typed enters a filter graph,
so any character is safe. Word times are on the voiceover item's source clock (like its
in and out points); on the timeline a word sits at item.start + (word.start - in_point).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from pipeline.delivery.presets import Preset
from pipeline.render.fonts import font as _font, wrap  # noqa: F401 (wrap is used here and by callers)
from pipeline.model.timeline import Timeline, Word

# A cue ends at a pause this long, or after sentence-ending punctuation.
PAUSE = Fraction(1, 2)
MAX_LINES = 2
MAX_CUE_SECONDS = Fraction(4)
TEXT_FILL = (255, 255, 255, 255)
ACTIVE_FILL = (255, 214, 0, 255)
STROKE_FILL = (0, 0, 0, 255)


@dataclass(frozen=True)
class Cue:
    start: Fraction
    end: Fraction
    words: tuple[Word, ...]

    @property
    def text(self) -> str:
        return " ".join(w.text for w in self.words)


def timeline_words(tl: Timeline, role: str = "voiceover") -> list[Word]:
    """The spoken words in timeline time, in order, cut to what the timeline plays."""
    words: list[Word] = []
    track = tl.audio.get(role)
    if track is not None and not track.muted:
        for item in track.items:
            for w in item.words:
                if w.end <= item.in_point or w.start >= item.out_point or not w.text.strip():
                    continue
                start = item.start + max(w.start, item.in_point) - item.in_point
                end = item.start + min(w.end, item.out_point) - item.in_point
                words.append(Word(w.text.strip(), start, end))
    if not words:
        # No word timings: fall back to the timeline's own captions, one word per caption.
        words = [Word(c.text.strip(), c.start, c.end) for c in tl.captions if c.text.strip()]
    words = [w for w in words if w.start < tl.duration]
    for w in words:
        w.end = min(w.end, tl.duration)
    return sorted(words, key=lambda w: w.start)


def font_size(preset: Preset) -> int:
    return max(12, round(min(preset.width, preset.height) * 0.06))


def _text_width(font: Any, text: str) -> float:
    return font.getlength(text)


def make_cues(words: list[Word], preset: Preset) -> list[Cue]:
    """Group words into cues that fit MAX_LINES lines of the preset's safe width."""
    font = _font(font_size(preset))
    _, _, safe_w, _ = preset.safe_box()
    max_width = safe_w * 0.92
    cues: list[Cue] = []
    current: list[Word] = []
    for w in words:
        if current:
            gap = w.start - current[-1].end
            sentence_end = current[-1].text.endswith((".", "!", "?", "…"))
            too_long = w.end - current[0].start > MAX_CUE_SECONDS
            too_wide = len(wrap([x.text for x in current] + [w.text], font, max_width)) > MAX_LINES
            if gap >= PAUSE or sentence_end or too_long or too_wide:
                cues.append(Cue(current[0].start, current[-1].end, tuple(current)))
                current = []
        current.append(w)
    if current:
        cues.append(Cue(current[0].start, current[-1].end, tuple(current)))
    return cues


def write_sidecars(cues: list[Cue], srt_path: Path, vtt_path: Path | None) -> None:
    """SubRip and WebVTT files (times in milliseconds; text escaped per format)."""
    from pipeline.delivery.subtitles import srt_text, vtt_text
    from pipeline.files import atomic_write_text

    atomic_write_text(srt_path, srt_text(cues))
    if vtt_path is not None:
        atomic_write_text(vtt_path, vtt_text(cues))


def caption_strip(preset: Preset) -> tuple[int, int, int]:
    """(y, width, height) of the band the captions are drawn in: the bottom of the safe area."""
    size = font_size(preset)
    _, sy, _, sh = preset.safe_box()
    height = int(size * 1.3 * MAX_LINES + size * 0.6)
    height += height % 2
    return sy + sh - height, preset.width, height


def _draw(preset: Preset, font: Any, cue: Cue | None, active: int | None) -> Any:
    from PIL import Image, ImageDraw

    _, w, h = caption_strip(preset)
    img = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    if cue is None:
        return img
    draw = ImageDraw.Draw(img)
    size = font_size(preset)
    sx, _, sw, _ = preset.safe_box()
    lines = wrap([x.text for x in cue.words], font, sw * 0.92)
    line_h = int(size * 1.3)
    y = h - line_h * len(lines) - int(size * 0.3)
    stroke = max(2, size // 12)
    space = _text_width(font, " ")
    index = 0
    for line in lines:
        x = sx + (sw - _text_width(font, " ".join(line))) / 2
        for word in line:
            fill = ACTIVE_FILL if index == active else TEXT_FILL
            draw.text((x, y), word, font=font, fill=fill, stroke_width=stroke, stroke_fill=STROKE_FILL)
            x += _text_width(font, word) + space
            index += 1
        y += line_h
    return img


def _us(t: Fraction) -> int:
    return round(t * 1_000_000)


def build_overlay(cues: list[Cue], preset: Preset, folder: Path, duration: Fraction) -> Path:
    """Write one image per (cue, spoken word) and an ffconcat list that shows each for its
    span (a blank image elsewhere). Returns the list's path; overlay it at caption_strip's y."""
    folder.mkdir(parents=True, exist_ok=True)
    font = _font(font_size(preset))
    blank = "blank.png"
    _draw(preset, font, None, None).save(folder / blank)
    events: list[tuple[Fraction, str]] = [(Fraction(0), blank)]
    for ci, cue in enumerate(cues):
        for wi, word in enumerate(cue.words):
            name = f"cue{ci:04d}-{wi:03d}.png"
            _draw(preset, font, cue, wi).save(folder / name)
            events.append((word.start, name))
        events.append((cue.end, blank))
    events.sort(key=lambda e: e[0])
    lines = ["ffconcat version 1.0"]
    end_us = _us(duration) + 1_000_000
    times = [_us(t) for t, _ in events] + [end_us]
    for (t, name), t_us, next_us in zip(events, times, times[1:]):
        length = next_us - t_us
        if length <= 0:
            continue
        lines.append(f"file '{name}'")
        lines.append(f"duration {length / 1e6:.6f}")
    lines.append(f"file '{blank}'")
    path = folder / "captions.ffconcat"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
