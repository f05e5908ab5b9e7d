"""Transitions between clips (xfade and acrossfade)."""

from __future__ import annotations

from typing import Any

from ..errors import RenderError
from ..timeline import Timeline


def join_with_transitions(tl: Timeline, segments: list[tuple[Any, Any]]) -> tuple[Any, Any]:
    raise RenderError("transitions other than cut are not supported yet")
