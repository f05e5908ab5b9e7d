"""Platform limits for export: maximum duration (an error before any encoding, or a trim)
and maximum file size (caps the video rate so the file fits; two-pass where needed)."""

from __future__ import annotations

import dataclasses
import math
from fractions import Fraction

from pipeline.errors import InputError
from pipeline.delivery.presets import Preset
from pipeline.render.settings import OutputSettings, parse_rate  # noqa: F401 - parse_rate is part of this module's API
from pipeline.model.timeline import Timeline

# Room left for the container (moov, sample tables) and for the rate control's error.
SIZE_SAFETY = 0.95
CONTAINER_BYTES = 8_000


def check_durations(tl: Timeline, presets: list[Preset], trim: bool) -> dict[str, Fraction]:
    """Preset name -> the duration limit to trim to. Raises InputError (before anything is
    encoded) naming every preset the timeline is too long for, unless `trim`."""
    too_long = [p for p in presets if p.max_duration is not None and tl.duration > Fraction(str(p.max_duration))]
    if too_long and not trim:
        names = ", ".join(f"{p.name} (max {p.max_duration:g} s)" for p in too_long)
        raise InputError(f"--preset: the timeline is {float(tl.duration):.2f} s, longer than {names}; "
                         "shorten it or pass --trim-to-limit")
    return {p.name: Fraction(str(p.max_duration)) for p in too_long}


def trim_timeline(tl: Timeline, limit: Fraction) -> Timeline:
    """A copy of the timeline cut at `limit` seconds (snapped down to a whole frame)."""
    fps = tl.canvas.fps
    limit = Fraction(math.floor(limit * fps)) / fps
    out = tl.copy()
    kept = []
    for clip, start in zip(out.video, out.clip_starts()):
        if start >= limit:
            break
        excess = start + clip.duration - limit
        if excess > 0:
            cut_hold = min(clip.hold, excess)
            clip.hold -= cut_hold
            clip.out_point -= excess - cut_hold
        kept.append(clip)
    if kept:
        kept[-1].transition = type(kept[-1].transition)()
    if len(kept) >= 2 and not kept[-2].transition.is_cut and kept[-2].transition.duration >= kept[-1].duration:
        # The limit falls inside a transition: end on the outgoing clip instead.
        kept.pop()
        kept[-1].transition = type(kept[-1].transition)()
        out.video = kept
        return trim_timeline(out, limit)
    out.video = kept
    for track in out.audio.values():
        items = []
        for item in track.items:
            if item.start >= limit:
                continue
            if item.end > limit:
                item.out_point -= item.end - limit
                item.fade_out = min(item.fade_out, item.duration)
            items.append(item)
        track.items = items
    out.captions = [c for c in out.captions if c.start < limit]
    for c in out.captions:
        c.end = min(c.end, limit)
    out.markers = [m for m in out.markers if m.time < limit]
    out.meta = {**out.meta, "trimmed_to": float(limit)}
    return out


def cap_size(settings: OutputSettings, preset: Preset, duration: Fraction) -> OutputSettings:
    """Settings whose file fits the preset's max_size_mb for `duration` seconds.

    When the preset's own peak rate already guarantees the fit (maxrate x duration plus
    one buffer), nothing changes. Otherwise the video gets an average rate that fits:
    two-pass for x264 (the first pass shares one decode for every capped output), a
    capped VBR for NVENC.
    """
    if preset.max_size_mb is None or duration <= 0:
        return settings
    seconds = float(duration)
    budget_bits = preset.max_size_mb * 1e6 * 8 * SIZE_SAFETY - CONTAINER_BYTES * 8
    audio_bits = (parse_rate(settings.audio_bitrate) or 0) * seconds * 1.05
    maxrate = parse_rate(settings.maxrate)
    bufsize = parse_rate(settings.bufsize) or (maxrate or 0)
    if maxrate is not None and maxrate * seconds + bufsize + audio_bits <= budget_bits:
        return settings
    rate = (budget_bits - audio_bits) / seconds
    if rate < 50_000:
        raise InputError(f"--preset {preset.name}: {preset.max_size_mb:g} MB is too small for "
                         f"{seconds:.1f} s of video (it leaves {max(rate, 0) / 1000:.0f} kbit/s)")
    if maxrate is not None:
        rate = min(rate, maxrate)
    kbps = int(math.floor(rate / 1000))
    common = dict(crf=None, video_bitrate=f"{kbps}k")
    if settings.is_hardware:
        return dataclasses.replace(settings, maxrate=f"{kbps}k", bufsize=f"{kbps}k", **common)
    return dataclasses.replace(settings, maxrate=f"{int(kbps * 1.5)}k", bufsize=f"{kbps * 2}k", pass_num=2, **common)
