"""Reframing a timeline to another aspect (used by the reframe stage and by export when a
preset's aspect differs from the timeline's).

Modes: smart (the window follows what matters; see camera.py), center (a fixed centre
crop), blur-pad (the whole frame over a blurred copy of itself), letterbox (the whole
frame over black). Crop windows are recorded per clip as a CropPath (one integer
top-left per source frame); the renderer turns them into crop expressions.
"""

from __future__ import annotations

import copy
import math
from fractions import Fraction
from typing import Any

from pipeline.errors import InputError
from pipeline.progress import Reporter, default_reporter
from pipeline.model.timeline import FIT_POLICIES, Clip, CropPath, Timeline

MODES = ("smart", "center", "blur-pad", "letterbox")
ASPECTS = {"9:16": Fraction(9, 16), "1:1": Fraction(1), "4:5": Fraction(4, 5), "16:9": Fraction(16, 9)}
_PAD_FIT = {"blur-pad": "contain-blur", "letterbox": "contain"}


def parse_aspect(text: str) -> Fraction:
    """'9:16' -> Fraction(9, 16); InputError for anything else than the supported shapes."""
    if text not in ASPECTS:
        raise InputError(f"--aspect {text}: must be one of {', '.join(ASPECTS)}")
    return ASPECTS[text]


def canvas_for(width: int, height: int, aspect: Fraction, mode: str) -> tuple[int, int]:
    """The new canvas for a width x height timeline: for smart and center, the crop window
    itself (no pixel is invented); for blur-pad and letterbox, the shape with the same
    short side as the old canvas."""
    from stages.reframe.camera import window_size

    if mode in _PAD_FIT:
        short = min(width, height)
        if aspect >= 1:
            return max(2, int(round(short * aspect / 2)) * 2), short // 2 * 2
        return short // 2 * 2, max(2, int(round(short / aspect / 2)) * 2)
    return window_size(width, height, float(aspect))


def _source_facts(clip: Clip) -> tuple[int, int, Fraction]:
    if clip.src_width and clip.src_height and clip.src_fps:
        return clip.src_width, clip.src_height, clip.src_fps
    from pipeline.model.media import probe

    v = probe(clip.source).v
    w, h = v.display_size
    return w, h, v.fps


def frame_range(clip: Clip, fps: Fraction) -> tuple[int, int]:
    """Source frame indices [first, end) the clip shows."""
    first = math.ceil(clip.in_point * fps - Fraction(1, 1000))
    end = math.ceil(clip.out_point * fps - Fraction(1, 1000))
    return first, max(end, first + 1)


def _path(clip: Clip, fps: Fraction, first: int, xs: Any, ys: Any, src: tuple[int, int],
          win: tuple[int, int], mode: str) -> CropPath:
    frames = [[round(float(Fraction(first + i) / fps), 6), int(round(float(x))), int(round(float(y)))]
              for i, (x, y) in enumerate(zip(xs, ys))]
    return CropPath(source_size=list(src), window_size=list(win), frames=frames, mode=mode)


def _split(clip: Clip, pieces: list[tuple[Fraction, Fraction, CropPath | None]]) -> list[Clip]:
    """The clip cut into consecutive pieces (hard cuts inside the source): each keeps its
    own window, or none (padded) where no window holds the subject."""
    out = []
    for k, (a, b, crop) in enumerate(pieces):
        piece = copy.deepcopy(clip)
        piece.in_point, piece.out_point = a, b
        piece.id = clip.id if k == 0 else f"{clip.id}~{k + 1}"
        piece.hold = clip.hold if k == len(pieces) - 1 else Fraction(0)
        piece.transition = clip.transition if k == len(pieces) - 1 else type(clip.transition)()
        piece.crop = crop
        piece.fit = None if crop is not None else "contain-blur"
        out.append(piece)
    return out


def reframe_clip(clip: Clip, aspect: float, mode: str, keyframes: list[dict[str, float]] | None = None,
                 reporter: Reporter | None = None) -> list[Clip]:
    """The clip (possibly cut at shot boundaries) with its window for `aspect` (w/h)."""
    import numpy as np

    from stages.reframe.camera import keyframe_path, plan_shots, window_size

    sw, sh, fps = _source_facts(clip)
    clip.src_width, clip.src_height, clip.src_fps = sw, sh, fps
    win = window_size(sw, sh, aspect)
    if mode in _PAD_FIT or win == (sw // 2 * 2, sh // 2 * 2) and abs(sw / sh - aspect) < 0.01 * aspect:
        clip.crop = None
        clip.fit = _PAD_FIT.get(mode)
        return [clip]
    first, end = frame_range(clip, fps)
    n = end - first
    clip.fit = None
    if mode == "center" or (mode == "smart" and keyframes is not None):
        if keyframes is not None:
            times = np.arange(first, end) / float(fps)
            xs, ys = keyframe_path(keyframes, times, (sw, sh), win)
        else:
            xs, ys = np.full(n, (sw - win[0]) // 2), np.full(n, (sh - win[1]) // 2)
        clip.crop = _path(clip, fps, first, xs, ys, (sw, sh), win, "manual" if keyframes else mode)
        return [clip]
    from stages.reframe.saliency import analyse_source

    analysis = analyse_source(clip.source, (sw, sh), fps)
    last = analysis["frames"] or end
    shots = plan_shots(analysis, first, min(end, last), (sw, sh), win, float(fps))
    if end > last and shots:  # the decode ended early: hold the last window
        s = shots[-1]
        if s.xs is not None:
            s.xs = np.concatenate([s.xs, np.full(end - last, s.xs[-1])])
            s.ys = np.concatenate([s.ys, np.full(end - last, s.ys[-1])])
        s.end = end
    if not any(s.fallback for s in shots):
        xs = np.concatenate([s.xs for s in shots])
        ys = np.concatenate([s.ys for s in shots])
        clip.crop = _path(clip, fps, first, xs, ys, (sw, sh), win, "smart")
        return [clip]
    # Group consecutive shots by kind; cut the clip where the kind changes.
    pieces: list[tuple[Fraction, Fraction, CropPath | None]] = []
    groups: list[list[Any]] = []
    for s in shots:
        if groups and groups[-1][0].fallback == s.fallback:
            groups[-1].append(s)
        else:
            groups.append([s])
    for g in groups:
        a = clip.in_point if g[0].start == first else Fraction(g[0].start) / fps
        b = clip.out_point if g[-1].end >= end else Fraction(g[-1].end) / fps
        crop = None
        if not g[0].fallback:
            crop = _path(clip, fps, g[0].start, np.concatenate([s.xs for s in g]),
                         np.concatenate([s.ys for s in g]), (sw, sh), win, "smart")
        pieces.append((a, b, crop))
    (reporter or default_reporter()).info(
        f"reframe: {clip.id or clip.source}: no window holds every subject in "
        f"{sum(1 for s in shots if s.fallback)} shot(s); those are padded (blur-pad)")
    return _split(clip, pieces)


def reframe_timeline(tl: Timeline, width: int, height: int, mode: str | None = None,
                     reporter: Reporter | None = None) -> Timeline:
    """The timeline recomposed for a width x height canvas with `mode` (default: the mode
    the timeline records in tl.reframe; without one the fit policy does the work at
    render time and the timeline only changes canvas). Crops from an earlier reframe are
    replaced, so one source analysis (cached) serves every aspect."""
    settings = dict(tl.reframe or {})
    mode = mode or settings.get("mode")
    out = tl.copy()
    out.canvas.width, out.canvas.height = width, height
    if mode is None or mode in FIT_POLICIES:
        return out  # a fit policy (contain-blur, cover, contain) is applied at render time
    if mode not in MODES:
        raise InputError(f"reframe mode '{mode}' is not one of {', '.join(MODES)}")
    keyframes: dict[str, list[dict[str, float]]] = settings.get("keyframes") or {}
    aspect = width / height
    clips: list[Clip] = []
    known = {c.id for c in out.video}
    for k in keyframes:
        if k not in known and not any(c.id.startswith(f"{k}~") for c in out.video):
            raise InputError(f"reframe keyframes: no clip with id '{k}' (clips: {', '.join(sorted(known))})")
    for clip in out.video:
        if settings.get("padded") and clip.id in settings["padded"]:
            clip.fit = None  # set by an earlier reframe, not by the user
        base_id = clip.id.split("~")[0]
        clips.extend(reframe_clip(clip, aspect, mode, keyframes.get(base_id), reporter))
    out.video = clips
    settings["mode"] = mode
    named = [k for k, v in ASPECTS.items() if abs(float(v) - aspect) <= 0.01 * aspect]
    settings["aspect"] = named[0] if named else f"{width}:{height}"
    settings["padded"] = [c.id for c in clips if c.crop is None and c.fit in _PAD_FIT.values()]
    out.reframe = settings
    return out


def path_document(tl: Timeline) -> dict[str, Any]:
    """The windows the render uses, one entry per source frame:
    {"source_size": [W, H], "window_size": [w, h], "frames": [{"t", "x", "y"}...]}.
    With several clips: {"clips": [{"id", "source", ...that...}, ...]}. A padded clip
    (blur-pad, letterbox, or a shot no window could hold) shows its whole frame."""
    docs = []
    for clip in tl.video:
        if clip.crop is not None:
            doc = {"source_size": list(clip.crop.source_size), "window_size": list(clip.crop.window_size),
                   "frames": [{"t": f[0], "x": int(f[1]), "y": int(f[2])} for f in clip.crop.frames]}
        else:
            sw, sh, fps = _source_facts(clip)
            first, end = frame_range(clip, fps)
            doc = {"source_size": [sw, sh], "window_size": [sw, sh], "padded": clip.fit or tl.fit,
                   "frames": [{"t": round(float(Fraction(i) / fps), 6), "x": 0, "y": 0} for i in range(first, end)]}
        docs.append({"id": clip.id, "source": clip.source, **doc})
    if len(docs) == 1:
        docs[0].pop("id")
        docs[0].pop("source")
        return docs[0]
    return {"clips": docs}
