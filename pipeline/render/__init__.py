"""The render core: a Timeline and output settings become one ffmpeg command."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Callable, Sequence

from pipeline.files import atomic_output
from pipeline.progress import Reporter
from pipeline.model.timeline import Timeline
from pipeline.render.settings import OutputSettings


def render(
    tl: Timeline,
    outputs: Sequence[tuple[OutputSettings, Path]],
    label: str = "render",
    reporter: Reporter | None = None,
    seal: Callable[[Path, OutputSettings], Callable[[Path], None] | None] | None = None,
) -> list[Path]:
    """Render the timeline to every (settings, path) in one ffmpeg run, atomically.
    `seal(path, settings)` may give a step that finishes each file before its rename."""
    from pipeline.render.graph import build_argv
    from pipeline.ffmpeg import run_ffmpeg

    tl.validate()
    with contextlib.ExitStack() as stack:
        tmp_outputs = [(s, stack.enter_context(atomic_output(p, seal(Path(p), s) if seal else None))) for s, p in outputs]
        argv = build_argv(tl, tmp_outputs)
        run_ffmpeg(argv, float(tl.duration), label=label, reporter=reporter)
    return [Path(p) for _, p in outputs]


__all__ = ["OutputSettings", "render"]
