"""Loudness normalisation for export: measure the final mix, then a linear gain (and a
true-peak limiter only where needed) applied in the one encode. See issue: sound."""

from __future__ import annotations

from typing import Sequence

from .render.settings import OutputSettings
from .timeline import Timeline


def plan(tl: Timeline, settings: Sequence[OutputSettings]) -> list[OutputSettings]:
    """Return the settings with their audio gain decided (no-op until implemented)."""
    return list(settings)
