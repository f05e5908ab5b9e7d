"""Loading a command's inputs: media files, .timeline.json and .otio, appended into one
timeline."""

from __future__ import annotations

import os
from typing import Iterable

from pipeline.errors import InputError
from pipeline.model.clips import is_timeline_path, require_sources, timeline_from_media
from pipeline.model.timeline import Timeline


def load_inputs(paths: Iterable[str | os.PathLike[str]], require_media: bool = True) -> Timeline:
    """Media files, .timeline.json and/or .otio files -> one timeline (timelines are appended).
    With `require_media`, every file an edit reads must still exist."""
    paths = list(paths)
    if not paths:
        raise InputError("no input given")
    result: Timeline | None = None
    for p in paths:
        if is_timeline_path(p):
            tl = Timeline.load(p)
            if require_media:
                require_sources(tl, str(p))
        elif str(p).lower().endswith(".otio"):
            from pipeline.adapters.otio import read_otio

            tl = read_otio(p)
            if require_media:
                require_sources(tl, str(p))
        else:
            tl = timeline_from_media([p], canvas=result.canvas if result else None)
        if result is None:
            result = tl
        else:
            result.video.extend(tl.video)
            for role, trk in tl.audio.items():
                result.track(role).items.extend(trk.items)
    assert result is not None
    return result


