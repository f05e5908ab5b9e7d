"""The inputs of one ffmpeg command, each opened and decoded once and split between its uses."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import ffmpeg

from pipeline.ffmpeg import media_path
from pipeline.timebase import seconds_arg


class InputPool:
    """Each distinct input (a source span, or a lavfi source) is opened and decoded once;
    every further use of it (several outputs, a repeated clip, silence for several clips)
    gets a branch of a split. Reserve every use first, then take them."""

    def __init__(self) -> None:
        self._count: dict[tuple[str, ...], int] = {}
        self._streams: dict[tuple[tuple[str, ...], str], list[Any]] = {}

    @staticmethod
    def clip_key(clip: Any) -> tuple[str, ...]:
        # Read a little past the out point so rate conversion never runs short.
        span = clip.source_duration + Fraction(1, 5)
        return ("file", clip.source, seconds_arg(clip.in_point) if clip.in_point > 0 else "", seconds_arg(span))

    @staticmethod
    def file_key(path: str, start: Fraction | None = None, length: Fraction | None = None) -> tuple[str, ...]:
        return ("file", path, seconds_arg(start) if start else "", seconds_arg(length) if length else "")

    @staticmethod
    def lavfi_key(spec: str) -> tuple[str, ...]:
        return ("lavfi", spec)

    @staticmethod
    def concat_key(path: str) -> tuple[str, ...]:
        """An ffconcat list (e.g. timed caption images) read with the concat demuxer."""
        return ("concat", path)

    def reserve(self, key: tuple[str, ...], kind: str) -> None:
        slot = (key, kind)
        self._count[slot] = self._count.get(slot, 0) + 1

    def take(self, key: tuple[str, ...], kind: str) -> Any:
        """kind: "v" or "a"."""
        slot = (key, kind)
        if slot not in self._streams:
            if key[0] == "lavfi":
                inp = ffmpeg.input(key[1], f="lavfi")
            elif key[0] == "concat":
                inp = ffmpeg.input(media_path(key[1]), f="concat", safe=0)
            else:
                _, source, ss, t = key
                kwargs: dict[str, Any] = {}
                if t:
                    kwargs["t"] = t
                if ss:
                    kwargs["ss"] = ss
                inp = ffmpeg.input(media_path(source), **kwargs)
            stream = inp.video if kind == "v" else inp.audio
            n = self._count.get(slot, 1)
            if n > 1:
                split = stream.filter_multi_output("split" if kind == "v" else "asplit", n)
                self._streams[slot] = [split[i] for i in range(n)]
            else:
                self._streams[slot] = [stream]
        if not self._streams[slot]:
            raise RuntimeError(f"input {slot} taken more often than reserved")
        return self._streams[slot].pop()
