"""Reframing a timeline to another aspect (used by the reframe stage and by export when a
preset's aspect differs from the timeline's)."""

from __future__ import annotations

from .progress import Reporter
from .timeline import Timeline


def reframe_timeline(tl: Timeline, width: int, height: int, mode: str | None = None,
                     reporter: Reporter | None = None) -> Timeline:
    """The timeline recomposed for a width x height canvas. Until smart reframing exists the
    fit policy does the work at render time, so the timeline is returned unchanged."""
    return tl
