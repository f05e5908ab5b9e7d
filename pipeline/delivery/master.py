"""A rendered file outside export: the master preset's quality at the timeline's own
canvas, loudness planned like every output. Standalone commands (`stitch ... -o seq.mp4`)
and stages that write a file of the whole edit use it."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from pipeline.errors import InputError
from pipeline.files import is_video_path
from pipeline.model.timeline import Timeline
from pipeline.render.settings import OutputSettings


def master_settings(tl: Timeline) -> OutputSettings:
    """The master preset's encoding at the timeline's canvas."""
    from pipeline.delivery.presets import get_preset

    s = get_preset("master").settings(tl.canvas.fps)
    return dataclasses.replace(s, width=tl.canvas.width, height=tl.canvas.height, fps=tl.canvas.fps)


def check_video_output(out: str | Path, flag: str = "-o") -> None:
    """A rendered output must be a video container reelforge writes."""
    if not is_video_path(out):
        suffix = Path(out).suffix.lower()
        raise InputError(f"{flag} {out}: unsupported output type '{suffix or '(none)'}'; "
                         "use .timeline.json, .mp4, .mov or .mkv")


def render_master(tl: Timeline, out: str | Path, label: str = "render", reporter: object = None) -> Path:
    """Render the whole timeline to `out` (atomically; signed when content credentials
    are set)."""
    from pipeline.delivery import loudness
    from pipeline.delivery.manifest import output_sealer
    from pipeline.render import render

    check_video_output(out)
    settings = loudness.plan(tl, [master_settings(tl)])[0]
    render(tl, [(settings, Path(out))], label=label, reporter=reporter,  # type: ignore[arg-type]
           seal=lambda path, s: output_sealer(tl, path, s.width, s.height))
    return Path(out)


def refuse_source_as_output(tl: Timeline, output: str | Path, flag: str = "-o") -> None:
    """An output must never replace a file the timeline reads (a clip, a voice file, the
    music), even with --overwrite: the user would lose it."""
    resolved = Path(output).resolve()
    for src in tl.sources():
        if Path(src).resolve() == resolved:
            raise InputError(f"{flag} {output}: is also an input of the edit; choose another output name")
