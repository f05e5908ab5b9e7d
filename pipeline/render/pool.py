"""The inputs of one ffmpeg command: each use of a source within a composition opens it
once; the compositions of one command (outputs that advance together) share each input
through a split."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import ffmpeg
from ffmpeg.nodes import InputNode

from pipeline.ffmpeg import media_path
from pipeline.timebase import seconds_arg


class _UseInput(InputNode):
    """An input node that is one use of its file: ffmpeg-python merges nodes with equal
    arguments into one `-i`, so the use number is part of the node's identity (two uses of
    one span become two `-i` of the same file, each decoded when the timeline reaches it)."""

    def __init__(self, use: int, kwargs: dict[str, Any]) -> None:
        self._use = use
        super().__init__(ffmpeg.input.__name__, kwargs=kwargs)

    def __hash__(self) -> int:
        return hash((super().__hash__(), self._use))

    def __eq__(self, other: object) -> bool:
        return hash(self) == hash(other)


class InputPool:
    """Where a composition takes its inputs from.

    Within one composition (one timeline at one frame size) every use of a source is its
    own input, opened and decoded when the timeline reaches it: a clip used three times
    is decoded three times, and no frames of a later use wait in memory. The compositions
    of one command advance together (outputs encoded side by side), so the n-th use of a
    source in each of them is one input split between them: N outputs, one decode.

    Call start(i) before reserving the uses of composition i, and again before taking
    them; reserve every use first, then take them in the same order."""

    def __init__(self) -> None:
        self._count: dict[tuple[Any, ...], int] = {}  # slot -> compositions using it
        self._streams: dict[tuple[Any, ...], list[Any]] = {}
        self._current: Any = 0
        self._reserved: dict[tuple[Any, ...], int] = {}  # (composition, key, kind) -> uses so far
        self._taken: dict[tuple[Any, ...], int] = {}

    def start(self, composition: Any) -> None:
        """Following reserve() and take() calls belong to this composition."""
        self._current = composition

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

    def _use(self, counts: dict[tuple[Any, ...], int], key: tuple[str, ...], kind: str) -> int:
        where = (self._current, key, kind)
        n = counts.get(where, 0)
        counts[where] = n + 1
        return n

    def reserve(self, key: tuple[str, ...], kind: str) -> None:
        slot = (key, kind, self._use(self._reserved, key, kind))
        self._count[slot] = self._count.get(slot, 0) + 1

    def take(self, key: tuple[str, ...], kind: str) -> Any:
        """kind: "v" or "a"."""
        use = self._use(self._taken, key, kind)
        slot = (key, kind, use)
        if slot not in self._streams:
            if slot not in self._count:
                raise RuntimeError(f"input {slot} taken more often than reserved")
            stream = self._open(key, use)
            stream = stream.video if kind == "v" else stream.audio
            n = self._count[slot]
            if n > 1:
                split = stream.filter_multi_output("split" if kind == "v" else "asplit", n)
                self._streams[slot] = [split[i] for i in range(n)]
            else:
                self._streams[slot] = [stream]
        if not self._streams[slot]:
            raise RuntimeError(f"input {slot} taken more often than reserved")
        return self._streams[slot].pop()

    @staticmethod
    def _open(key: tuple[str, ...], use: int) -> Any:
        """The input of one use. The picture and the sound of one use share it (one demux)."""
        if key[0] == "lavfi":
            kwargs: dict[str, Any] = {"filename": key[1], "format": "lavfi"}
        elif key[0] == "concat":
            kwargs = {"filename": media_path(key[1]), "format": "concat", "safe": 0}
        else:
            _, source, ss, t = key
            kwargs = {"filename": media_path(source)}
            if t:
                kwargs["t"] = t
            if ss:
                kwargs["ss"] = ss
        return _UseInput(use, kwargs).stream()
