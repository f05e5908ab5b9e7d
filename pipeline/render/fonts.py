"""Text drawn into pictures (burned captions, the local provider's prompt): Pillow with
Roboto Bold from the font-roboto package, which covers Latin, Greek and Cyrillic; never a
system font and never ffmpeg's drawtext, so any character a user typed is safe."""

from __future__ import annotations

from typing import Any


def font(size: int) -> Any:
    """Roboto Bold at `size` px (Pillow's built-in font if font-roboto is missing)."""
    from PIL import ImageFont

    try:
        import font_roboto

        return ImageFont.truetype(font_roboto.RobotoBold, size)
    except (ImportError, OSError):
        return ImageFont.load_default(size=size)


def wrap(words: list[str], font: Any, max_width: float) -> list[list[str]]:
    """Greedy line breaking by measured width."""
    lines: list[list[str]] = []
    for word in words:
        if lines and font.getlength(" ".join(lines[-1] + [word])) <= max_width:
            lines[-1].append(word)
        else:
            lines.append([word])
    return lines
