"""Validation of a timeline: the same rules whether the stages built it or a person edited
its JSON. Every value that reaches ffmpeg is checked against what the stages can produce
(a transition is a known xfade name, gains and times are finite and bounded, a held frame
or the whole edit is not days long), and each failure is an InputError naming the field.
"""

from __future__ import annotations

import math
from fractions import Fraction
from pathlib import Path
from typing import Any

from pipeline.errors import InputError

Timeline = Any  # pipeline.model.timeline.Timeline, which imports this module

# Every transition name of ffmpeg's xfade filter (ffmpeg 7), plus "cut".
XFADE_NAMES: tuple[str, ...] = (
    "fade", "wipeleft", "wiperight", "wipeup", "wipedown", "slideleft", "slideright",
    "slideup", "slidedown", "circlecrop", "rectcrop", "distance", "fadeblack", "fadewhite",
    "radial", "smoothleft", "smoothright", "smoothup", "smoothdown", "circleopen",
    "circleclose", "vertopen", "vertclose", "horzopen", "horzclose", "dissolve", "pixelize",
    "diagtl", "diagtr", "diagbl", "diagbr", "hlslice", "hrslice", "vuslice", "vdslice",
    "hblur", "fadegrays", "wipetl", "wipetr", "wipebl", "wipebr", "squeezeh", "squeezev",
    "zoomin", "fadefast", "fadeslow", "hlwind", "hrwind", "vuwind", "vdwind", "coverleft",
    "coverright", "coverup", "coverdown", "revealleft", "revealright", "revealup", "revealdown",
)
TRANSITION_NAMES: tuple[str, ...] = ("cut",) + XFADE_NAMES

# Largest canvas side: H.264's biggest level (6.2) stops at 8192 px; 8K is 7680x4320.
MAX_SIDE = 8192
FIT_POLICIES = ("contain-blur", "cover", "contain")
AUDIO_ROLES = ("original", "voiceover", "music", "sfx")
MAX_FPS = 240
MAX_SECONDS = Fraction(6 * 3600)  # the longest edit; platforms stop at 12 h, short clips far sooner
MAX_HOLD = Fraction(600)  # a held last frame (a voiceover running past the picture)
MAX_GAIN_DB = 60.0
SAMPLE_RATES = (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000, 88200, 96000, 192000)
# Colour fixes and the ranges ffmpeg's eq and colorchannelmixer filters accept.
COLOR_RANGES = {"brightness": (-1.0, 1.0), "contrast": (-1000.0, 1000.0), "saturation": (0.0, 3.0),
                "gamma": (0.1, 10.0), "r_gain": (-2.0, 2.0), "g_gain": (-2.0, 2.0), "b_gain": (-2.0, 2.0)}


def _num(value: Any) -> str:
    try:
        return f"{float(value):g}"
    except OverflowError:
        return "a number too large to use"


def _finite(value: Any, where: str, low: float | None = None, high: float | None = None) -> None:
    ok = isinstance(value, (int, float, Fraction)) and not isinstance(value, bool)
    if ok and isinstance(value, float):
        ok = math.isfinite(value)
    if not ok:
        raise InputError(f"{where}: expected a number, got {value!r}")
    if low is not None and value < low:
        raise InputError(f"{where}: {_num(value)} is below {low:g}")
    if high is not None and value > high:
        raise InputError(f"{where}: {_num(value)} is above {high:g}")


def _time(value: Any, where: str, high: Fraction = MAX_SECONDS) -> None:
    _finite(value, where, 0.0)
    if value > high:
        raise InputError(f"{where}: {_num(value)} s is longer than {float(high):g} s")


def validate_timeline(tl: Timeline, where: str = "timeline") -> None:
    """Raise InputError naming the first field that is out of range or inconsistent."""
    _canvas(tl, where)
    if tl.fit not in FIT_POLICIES:
        raise InputError(f"{where}: fit '{tl.fit}' is not one of {', '.join(FIT_POLICIES)}")
    _video(tl, where)
    _audio(tl, where)
    for i, cap in enumerate(tl.captions):
        name = f"{where}: captions[{i}]"
        _time(cap.start, f"{name}.start")
        _time(cap.end, f"{name}.end")
        if cap.end <= cap.start:
            raise InputError(f"{name}: end must be after start")
        if not isinstance(cap.text, str):
            raise InputError(f"{name}.text: expected text")
    for i, marker in enumerate(tl.markers):
        _time(marker.time, f"{where}: markers[{i}].time")
    if tl.duration > MAX_SECONDS:
        raise InputError(f"{where}: the edit is {float(tl.duration):.0f} s long; at most {float(MAX_SECONDS):.0f} s")


def _canvas(tl: Timeline, where: str) -> None:
    c = tl.canvas
    for key in ("width", "height", "sample_rate", "channels"):
        value = getattr(c, key)
        if not isinstance(value, int) or isinstance(value, bool):
            raise InputError(f"{where}: canvas.{key}: expected a whole number, got {value!r}")
    if c.width <= 0 or c.height <= 0 or c.width % 2 or c.height % 2:
        raise InputError(f"{where}: canvas {c.width}x{c.height} must be positive and even")
    if max(c.width, c.height) > MAX_SIDE:
        raise InputError(f"{where}: canvas {c.width}x{c.height} is too large (at most {MAX_SIDE} px a side)")
    if c.fps <= 0:
        raise InputError(f"{where}: canvas fps must be positive")
    if not 1 <= c.fps <= MAX_FPS:
        raise InputError(f"{where}: canvas.fps {float(c.fps):g} is outside 1-{MAX_FPS}")
    if c.sample_rate not in SAMPLE_RATES:
        raise InputError(f"{where}: canvas.sample_rate {c.sample_rate} is not one of "
                         f"{', '.join(map(str, SAMPLE_RATES))}")
    if not 1 <= c.channels <= 8:
        raise InputError(f"{where}: canvas.channels {c.channels} is outside 1-8")


def _video(tl: Timeline, where: str) -> None:
    n = len(tl.video)
    for i, clip in enumerate(tl.video):
        if not isinstance(clip.source, str) or not clip.source or "\0" in clip.source:
            raise InputError(f"{where}: video[{i}].source: expected a file path, got {clip.source!r}")
        name = f"{where}: clip {i + 1} ({Path(clip.source).name})"
        _time(clip.in_point, f"{name}: in_point")
        _time(clip.out_point, f"{name}: out_point")
        _time(clip.hold, f"{name}: hold", MAX_HOLD)
        _time(clip.src_duration, f"{name}: src_duration")
        if clip.out_point <= clip.in_point:
            raise InputError(f"{name}: out point must be after in point")
        if clip.src_duration and clip.out_point > clip.src_duration + Fraction(1, 1000):
            raise InputError(
                f"{name}: out point {float(clip.out_point):.3f}s is past the end of the source "
                f"({float(clip.src_duration):.3f}s)"
            )
        if clip.fit is not None and clip.fit not in FIT_POLICIES:
            raise InputError(f"{name}: fit '{clip.fit}' is not one of {', '.join(FIT_POLICIES)}")
        _color(clip.color, name)
        _clip_sound(clip, name)
        if clip.crop is not None:
            _crop(clip.crop, name)
        tr = clip.transition
        if tr.kind not in TRANSITION_NAMES:
            from pipeline.errors import did_you_mean

            raise InputError(f"{name}: transition.kind: unknown transition {tr.kind!r}"
                             f"{did_you_mean(str(tr.kind), TRANSITION_NAMES)}")
        _finite(tr.duration, f"{name}: transition.duration")
        if tr.duration < 0:
            raise InputError(f"{name}: transition duration is negative")
        if i < n - 1 and not tr.is_cut:
            nxt = tl.video[i + 1]
            if tr.duration >= clip.duration or tr.duration >= nxt.duration:
                raise InputError(
                    f"{name}: transition {tr.kind}:{float(tr.duration):g}s must be shorter than "
                    f"both clips it joins ({float(clip.duration):.3f}s and {float(nxt.duration):.3f}s)"
                )
        if i > 0:
            prev = tl.video[i - 1].transition
            used = (prev.duration if not prev.is_cut else 0) + (tr.duration if i < n - 1 and not tr.is_cut else 0)
            if used > clip.duration:
                raise InputError(f"{name}: its two transitions together are longer than the clip")


def _clip_sound(clip: Any, name: str) -> None:
    _finite(clip.audio_gain_db, f"{name}: audio_gain_db", -MAX_GAIN_DB, MAX_GAIN_DB)
    if not isinstance(clip.audio_muted, bool):
        raise InputError(f"{name}: audio_muted: expected true or false")
    if clip.speech is None:
        return
    if not isinstance(clip.speech, list):
        raise InputError(f"{name}: speech: expected a list of [start, end] spans")
    for j, span in enumerate(clip.speech):
        if not isinstance(span, list) or len(span) != 2:
            raise InputError(f"{name}: speech[{j}]: expected [start, end]")
        _time(span[0], f"{name}: speech[{j}] start")
        _time(span[1], f"{name}: speech[{j}] end")
        if span[1] <= span[0]:
            raise InputError(f"{name}: speech[{j}]: end must be after start")


def _color(color: Any, name: str) -> None:
    if not isinstance(color, dict):
        raise InputError(f"{name}: color: expected a mapping")
    for key, value in color.items():
        if key not in COLOR_RANGES:
            raise InputError(f"{name}: color.{key}: unknown colour fix (known: {', '.join(COLOR_RANGES)})")
        _finite(value, f"{name}: color.{key}", *COLOR_RANGES[key])


def _crop(crop: Any, name: str) -> None:
    sizes = (crop.source_size, crop.window_size)
    if not all(isinstance(s, list) and len(s) == 2 and all(isinstance(v, int) and v > 0 for v in s) for s in sizes):
        raise InputError(f"{name}: crop: source_size and window_size must be two positive whole numbers each")
    if crop.window_size[0] > crop.source_size[0] or crop.window_size[1] > crop.source_size[1]:
        raise InputError(f"{name}: crop: the window {crop.window_size} is larger than the source {crop.source_size}")
    for j, frame in enumerate(crop.frames):
        if not isinstance(frame, list) or len(frame) != 3:
            raise InputError(f"{name}: crop.frames[{j}]: expected [t, x, y]")
        for v in frame:
            _finite(v, f"{name}: crop.frames[{j}]")


def _audio(tl: Timeline, where: str) -> None:
    for role, trk in tl.audio.items():
        if role not in AUDIO_ROLES:
            raise InputError(f"{where}: audio.{role}: unknown track (known: {', '.join(AUDIO_ROLES)})")
        _finite(trk.gain_db, f"{where}: audio.{role}.gain_db", -MAX_GAIN_DB, MAX_GAIN_DB)
        if trk.duck is not None:
            _finite(trk.duck.amount_db, f"{where}: audio.{role}.duck.amount_db", 0.0, MAX_GAIN_DB)
            _time(trk.duck.attack, f"{where}: audio.{role}.duck.attack", Fraction(10))
            _time(trk.duck.release, f"{where}: audio.{role}.duck.release", Fraction(10))
            if trk.duck.within not in ("all", "speaking-clips"):
                raise InputError(f"{where}: audio.{role}.duck.within: {trk.duck.within!r} is not all or speaking-clips")
            under = trk.duck.under
            if not isinstance(under, (str, list)) or not all(isinstance(r, str) for r in trk.duck.roles):
                raise InputError(f"{where}: audio.{role}.duck.under: expected a track name or a list of them")
            for name in trk.duck.roles:
                if name not in (*AUDIO_ROLES, "dialogue") or name == role:
                    raise InputError(f"{where}: audio.{role}.duck.under: cannot duck under {name!r} "
                                     f"(known: {', '.join(r for r in (*AUDIO_ROLES, 'dialogue') if r != role)})")
        for j, item in enumerate(trk.items):
            name = f"{where}: {role} item {item.id or j + 1}"
            if not isinstance(item.source, str) or not item.source or "\0" in item.source:
                raise InputError(f"{name}: source: expected a file path, got {item.source!r}")
            for key in ("start", "in_point", "out_point", "fade_in", "fade_out", "loop_start", "crossfade", "length"):
                _time(getattr(item, key), f"{name}: {key}")
            _finite(item.gain_db, f"{name}: gain_db", -MAX_GAIN_DB, MAX_GAIN_DB)
            if item.out_point <= item.in_point:
                raise InputError(f"{where}: {role} item {item.id or item.source}: bad placement")
