"""Checks a file or a timeline before it goes out: sound/picture offset, stream
structure, timeline sanity, and a platform preset's delivery rules.

Every check is {name, passed, detail}; the document as a whole is what `reelforge check
--json` prints. Nothing here encodes except `fix_offset`, which stream-copies the video.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from pipeline.delivery import rules
from pipeline.errors import InputError, StageError
from pipeline.files import VIDEO_EXTENSIONS

# (most audio-early ms, most audio-late ms as a negative number); + = audio leads.
TOLERANCES: dict[str, tuple[float, float]] = {
    "itu": (45.0, -125.0),  # ITU-R BT.1359: detectability thresholds
    "ebu": (40.0, -60.0),  # EBU R37
    "atsc": (15.0, -45.0),  # ATSC IS-191
}
SILENT_GAP_S = 0.5


@dataclass
class Check:
    name: str
    passed: bool
    detail: str
    warning: bool = False  # passed, but worth a look (reported, never fails the check)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "passed": self.passed, "detail": self.detail}
        if self.warning:
            out["warning"] = True
        return out


def tolerance_window(name: str) -> tuple[float, float]:
    if name not in TOLERANCES:
        raise InputError(f"--tolerance {name}: unknown (use one of {', '.join(TOLERANCES)})")
    return TOLERANCES[name]


def sync_check(offset_ms: float | None, confidence: float, tolerance: str, label: str = "av_sync",
               reason: str = "") -> Check:
    early, late = tolerance_window(tolerance)
    window = f"{tolerance}: +{early:g}/{late:g} ms"
    if offset_ms is None:
        why = reason or "no sound and picture events that correspond"
        return Check(label, True, f"offset not measurable ({why}); {window}")
    ok = late <= offset_ms <= early
    side = "audio early" if offset_ms > 0 else "audio late" if offset_ms < 0 else "in sync"
    return Check(label, ok, f"{offset_ms:+.1f} ms ({side}), confidence {confidence:.2f}; {window}")


# ---- media files -------------------------------------------------------------------------
def structure_checks(info: Any, preset: Any = None) -> tuple[list[Check], float | None]:
    """Stream starts and durations, constant frame rate, sample rate and layout.
    Returns the checks and the duration difference (audio minus video, ms)."""
    checks: list[Check] = []
    v = info.video[0] if info.video else None
    a = info.audio[0] if info.audio else None
    delta_ms: float | None = None
    if v is None:
        checks.append(Check("video_stream", False, "no video stream"))
    if a is None:
        checks.append(Check("audio_stream", preset is None,
                            "no audio stream" + (f" (preset {preset.name} expects audio)" if preset else "")))
    if v is not None:
        frame_ms = 1000.0 / float(v.fps)
        checks.append(Check("constant_frame_rate", not v.variable_fps,
                            "variable frame rate: timestamps are irregular" if v.variable_fps
                            else f"{float(v.fps):.3f} fps constant"))
    if v is not None and a is not None:
        start_ms = (float(a.start_time) - float(v.start_time)) * 1000
        limit = max(frame_ms, 25.0)
        checks.append(Check("stream_start", abs(start_ms) <= limit,
                            f"audio starts {start_ms:+.1f} ms after the video (limit {limit:.0f} ms)"))
        vd = float(v.duration) if v.duration is not None else float(info.duration)
        ad = float(a.duration) if a.duration is not None else float(info.duration)
        delta_ms = round((ad + float(a.start_time) - vd - float(v.start_time)) * 1000, 1)
        # one frame plus one AAC packet of padding is normal
        limit = frame_ms + 1024 * 1000 / max(a.sample_rate, 1) + 1
        what = ("audio ends after the video" if delta_ms > 0 else "audio ends before the video" if delta_ms < 0
                else "audio and video end together")
        checks.append(Check("stream_duration", abs(delta_ms) <= limit,
                            f"{what}" + (f" by {abs(delta_ms):.1f} ms" if delta_ms else "") + f" (limit {limit:.0f} ms)"))
    if a is not None:
        want_sr = preset.sample_rate if preset else None
        ok = a.sample_rate == want_sr if want_sr else a.sample_rate in (44100, 48000)
        checks.append(Check("sample_rate", ok, f"{a.sample_rate} Hz"
                            + (f" (preset wants {want_sr})" if want_sr else " (44100 or 48000 expected)")))
        want_ch = preset.channels if preset else None
        ok = a.channels == want_ch if want_ch else a.channels in (1, 2) and a.layout != "unknown"
        checks.append(Check("channel_layout", ok, f"{a.layout}, {a.channels} ch"
                            + (f" (preset wants {want_ch})" if want_ch else "")))
    return checks, delta_ms


def delivery_checks(info: Any, loud: Any, preset: Any) -> list[Check]:
    """A rendered file against a platform preset's rules (pipeline.delivery.rules)."""
    checks: list[Check] = []
    if info.video:
        v = info.video[0]
        w, h = v.display_size
        checks.append(Check("resolution", rules.picture_size_ok((w, h), (preset.width, preset.height)),
                            f"{w}x{h} (preset {preset.width}x{preset.height})"))
        checks.append(Check("frame_rate", rules.frame_rate_ok(v.fps, preset.max_fps),
                            f"{float(v.fps):.3f} fps (preset at most {float(preset.max_fps):g})"))
        checks.append(Check("video_codec", rules.codec_ok(v.codec, preset.video_codec),
                            f"{v.codec} (preset {rules.codec_name(preset.video_codec)})"))
        checks.append(Check("pixel_format", v.pix_fmt == preset.pix_fmt, f"{v.pix_fmt} (preset {preset.pix_fmt})"))
    if preset.max_duration:
        d = float(info.duration)
        fps = info.video[0].fps if info.video else preset.max_fps
        checks.append(Check("duration_limit", rules.duration_ok(d, preset.max_duration, fps),
                            f"{d:.2f} s (preset at most {preset.max_duration:g} s)"))
    if preset.max_size_mb:
        checks.append(Check("size_limit", rules.file_size_ok(info.size_bytes, preset.max_size_mb),
                            f"{info.size_bytes / 1e6:.1f} MB (preset at most {preset.max_size_mb:g} MB)"))
    if info.audio and loud is not None:
        if preset.loudness_lufs is not None:
            i, tol = loud.integrated_lufs, preset.loudness_tolerance_lu
            checks.append(Check("integrated_loudness", rules.loudness_ok(i, preset.loudness_lufs, tol),
                                ("silent" if i is None else f"{i:.1f} LUFS")
                                + f" (preset {preset.loudness_lufs:g} ±{tol:g} LU)"))
        if preset.true_peak_dbtp is not None:
            tp = loud.true_peak_dbtp
            checks.append(Check("true_peak", rules.true_peak_ok(tp, preset.true_peak_dbtp),
                                ("none" if tp is None else f"{tp:.1f} dBTP")
                                + f" (preset at most {preset.true_peak_dbtp:g} dBTP)"))
    return checks


def check_media(path: str, tolerance: str = "itu", preset: Any = None, timeline: Any = None) -> dict[str, Any]:
    """Every check for one media file; the --json document (plus "sync" for the report).
    With the `timeline` it was rendered from, each clip is a shot of its own."""
    from pipeline.analysis.loudness import measure_file
    from pipeline.delivery.provenance import read_credentials
    from stages.check.shots import file_shots, worst
    from pipeline.model.media import probe

    tolerance_window(tolerance)
    info = probe(path)
    box: dict[str, Any] = {}

    def loudness() -> None:
        try:
            box["loud"] = measure_file(path) if info.has_audio else None
        except BaseException as exc:  # noqa: BLE001 - re-raised below
            box["error"] = exc

    t = threading.Thread(target=loudness, daemon=True)
    t.start()
    if timeline is not None:
        from stages.check.shots import rendered_shots

        shots = file_shots(path, known=rendered_shots(timeline), cuts_s=[float(c) for c in timeline.cut_times()])
    else:
        shots = file_shots(path)
    t.join()
    if "error" in box:
        raise box["error"]
    loud = box.get("loud")
    checks = shot_checks(shots, tolerance)
    sync = (worst(shots) or shots[0]).sync
    structural, delta_ms = structure_checks(info, preset)
    checks += structural
    if preset is not None:
        checks += delivery_checks(info, loud, preset)
    return {
        "input": str(path),
        "kind": "media",
        "passed": all(c.passed for c in checks),
        "tolerance": tolerance,
        "preset": preset.name if preset else None,
        "av_offset_ms": sync.offset_ms,
        "av_offset_confidence": sync.confidence,
        "duration_delta_ms": delta_ms,
        "integrated_lufs": loud.integrated_lufs if loud else None,
        "true_peak_dbtp": loud.true_peak_dbtp if loud else None,
        "duration_s": round(float(info.duration), 4),
        "checks": [c.to_dict() for c in checks],
        "shots": [s.to_dict() for s in shots],
        "content_credentials": read_credentials(path).to_dict(),
        "sync": sync.to_dict(),
        "shot_syncs": [s.sync.to_dict() for s in shots],
    }


def shot_checks(shots: list[Any], tolerance: str) -> list[Check]:
    """One av_sync check for a single shot; one per shot, named with its time range, else."""
    if len(shots) == 1 and not shots[0].clip:
        s = shots[0].sync
        return [sync_check(s.offset_ms, s.confidence, tolerance, reason=s.reason)]
    return [sync_check(s.sync.offset_ms, s.sync.confidence, tolerance, label=f"av_sync:{s.label}",
                       reason=s.sync.reason) for s in shots]


# ---- timelines ---------------------------------------------------------------------------
def timeline_checks(tl: Any) -> list[Check]:
    """Voiceover lines across cuts, music ending before the picture, silent gaps."""
    checks: list[Check] = []
    total = tl.duration
    frame = Fraction(1) / tl.canvas.fps
    cuts = tl.cut_times()
    vo = tl.audio.get("voiceover")
    if vo is not None and vo.items and not vo.muted:
        crossing = []
        for item in vo.items:
            inside = [c for c in cuts if item.start + frame < c < item.end - frame]
            if inside:
                label = item.text[:40] or item.id or Path(item.source).name
                crossing.append(f"'{label}' ({float(item.start):.2f}-{float(item.end):.2f} s) crosses the cut "
                                f"at {float(inside[0]):.2f} s")
        checks.append(Check("voiceover_cuts", not crossing,
                            "; ".join(crossing) if crossing else f"{len(vo.items)} lines, none crosses a cut"))
    music = tl.audio.get("music")
    if music is not None and music.items and not music.muted:
        loops = any(i.loop for i in music.items)
        end = max(i.end for i in music.items)
        ok = loops or end >= total - frame
        checks.append(Check("music_coverage", ok, "loops to the end" if loops else
                            f"music ends at {float(end):.2f} s, picture at {float(total):.2f} s"))
    gaps = silent_gaps(tl)
    checks.append(Check("silent_gaps", not gaps,
                        "; ".join(f"{float(a):.2f}-{float(b):.2f} s" for a, b in gaps[:8]) or "sound throughout"))
    return checks


def silent_gaps(tl: Any, min_gap: float = SILENT_GAP_S) -> list[tuple[Fraction, Fraction]]:
    """Spans of the timeline longer than min_gap where no track plays anything."""
    total = tl.duration
    spans: list[tuple[Fraction, Fraction]] = []
    original = tl.audio.get("original")
    if original is None or not original.muted:
        for start, clip in zip(tl.clip_starts(), tl.video):
            if clip.has_audio:
                spans.append((start, start + clip.source_duration))
    for role, trk in tl.audio.items():
        if trk.muted or role == "original" and not trk.items:
            continue
        for item in trk.items:
            spans.append((item.start, total if item.loop else item.end))
    spans.sort()
    gaps: list[tuple[Fraction, Fraction]] = []
    t = Fraction(0)
    for a, b in spans:
        if a - t > min_gap:
            gaps.append((t, a))
        t = max(t, b)
    if total - t > min_gap:
        gaps.append((t, total))
    return gaps


def check_timeline(tl: Any, tolerance: str = "itu", preset: Any = None, where: str = "timeline") -> dict[str, Any]:
    """Timeline checks, plus the offset of every clip with sound, each measured over its
    own span of its source."""
    from pipeline.delivery.provenance import read_credentials
    from stages.check.shots import timeline_shots, worst

    from stages.check.balance import balance_check, timeline_balance

    tolerance_window(tolerance)
    tl = tl.copy()
    balance = timeline_balance(tl)
    checks = timeline_checks(tl)
    if balance is not None:
        checks.append(balance_check(balance, Check))
    shots = timeline_shots(tl)
    checks += shot_checks(shots, tolerance)
    late = worst(shots)
    if preset is not None:
        d = float(tl.duration)
        if preset.max_duration:
            checks.append(Check("duration_limit", rules.duration_ok(d, preset.max_duration, tl.canvas.fps),
                                f"{d:.2f} s (preset at most {preset.max_duration:g} s)"))
        checks.append(Check("frame_rate", rules.frame_rate_ok(tl.canvas.fps, preset.max_fps),
                            f"{float(tl.canvas.fps):.3f} fps (preset at most {float(preset.max_fps):g}; export caps it)"))
    return {
        "input": where,
        "kind": "timeline",
        "passed": all(c.passed for c in checks),
        "tolerance": tolerance,
        "preset": preset.name if preset else None,
        "av_offset_ms": late.sync.offset_ms if late else None,
        "av_offset_confidence": late.sync.confidence if late else 0.0,
        "duration_delta_ms": None,
        "integrated_lufs": None,
        "true_peak_dbtp": None,
        "duration_s": round(float(tl.duration), 4),
        "cuts_s": [round(float(c), 4) for c in tl.cut_times()],
        "music_under_speech": balance,
        "checks": [c.to_dict() for c in checks],
        "shots": [s.to_dict() for s in shots],
        "content_credentials": {src: read_credentials(src).to_dict() for src in tl.sources() if Path(src).is_file()},
        "sync": (late or shots[0]).sync.to_dict() if shots else None,
        "shot_syncs": [s.sync.to_dict() for s in shots],
    }


# ---- fix ---------------------------------------------------------------------------------
def fix_offset(path: str, offset_ms: float, output: str | Path) -> Path:
    """Write a copy with the audio moved by offset_ms (positive = it was early, so it is
    delayed), trimmed or padded to the video's length. Video is stream-copied; the audio
    is re-encoded (a shift finer than one codec frame needs new samples)."""
    from pipeline.files import atomic_output
    from pipeline.model.media import probe
    from pipeline.ffmpeg import media_path, preamble, run_ffmpeg

    info = probe(path)
    if not info.has_video or not info.has_audio:
        raise StageError(f"{path}: --fix needs both a video and an audio stream")
    a = info.audio[0]
    sr = a.sample_rate or 48000
    samples = int(round(abs(offset_ms) / 1000 * sr))
    v = info.v
    vdur = float(v.duration) if v.duration is not None else float(info.duration)
    if offset_ms > 0:
        shift = f"adelay={samples}S:all=1"
    else:
        shift = f"atrim=start_sample={samples},asetpts=PTS-STARTPTS"
    chain = f"{shift},apad,atrim=end={vdur:.6f}"
    out = Path(output)
    ext = out.suffix.lower()
    codec = ["-c:a", "aac", "-b:a", "192k"] if ext in (*VIDEO_EXTENSIONS, "") else []
    with atomic_output(out) as tmp:
        argv = [*preamble(progress=True), "-i", media_path(path),
                "-map", "0:v:0", "-map", "0:a:0", "-c:v", "copy", "-af", chain, *codec,
                "-ar", str(sr), "-map_metadata", "0", media_path(tmp)]
        run_ffmpeg(argv, duration=vdur, label="fix")
    return out
