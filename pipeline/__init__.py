"""reelforge's engine. The Python API:

    from pipeline import Timeline
"""

from __future__ import annotations

from .timeline import Timeline

__all__ = ["Timeline"]
