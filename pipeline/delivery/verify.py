"""Verification after encoding: every output is probed again and checked against what its
preset promised (dimensions, rate, codecs, pixel format, duration, size, moov before mdat,
loudness and true peak). The export command prints the table and exits 1 on a failure."""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

from pipeline.delivery import rules
from pipeline.progress import Cell
from pipeline.render.settings import OutputSettings
from pipeline.timebase import frames_in



@dataclass(frozen=True)
class Check:
    name: str
    expected: str
    actual: str
    status: str  # "pass", "fail" or "warn"


@dataclass
class OutputReport:
    path: Path
    preset: str
    checks: list[Check] = field(default_factory=list)
    measured: dict[str, Any] = field(default_factory=dict)  # integrated_lufs, true_peak_dbtp

    @property
    def ok(self) -> bool:
        return all(c.status != "fail" for c in self.checks)

    def check(self, name: str) -> Check | None:
        return next((c for c in self.checks if c.name == name), None)

    def to_dict(self) -> dict[str, Any]:
        return {"path": str(self.path), "preset": self.preset, "ok": self.ok,
                "checks": [c.__dict__ for c in self.checks]}


def top_level_boxes(path: Path) -> list[str]:
    """Names of the top-level MP4/QuickTime boxes in file order. (Hand-written: PyAV does not
    expose box order, and ten lines of struct reading beat another dependency.)"""
    names: list[str] = []
    with open(path, "rb") as fh:
        size_total = fh.seek(0, 2)
        pos = 0
        while pos + 8 <= size_total:
            fh.seek(pos)
            size, kind = struct.unpack(">I4s", fh.read(8))
            if size == 1:
                size = struct.unpack(">Q", fh.read(8))[0]
            elif size == 0:
                size = size_total - pos
            names.append(kind.decode("latin-1"))
            if size < 8:
                break
            pos += size
    return names


def _status(ok: bool) -> str:
    return "pass" if ok else "fail"


def verify_output(
    path: Path,
    preset_name: str,
    settings: OutputSettings,
    duration: Fraction,
    max_size_mb: float | None = None,
    max_duration: float | None = None,
    loudness_tolerance_lu: float = 1.0,
    loudness_strict: bool = True,
) -> OutputReport:
    """Probe `path` again and compare it with `settings` and the preset's limits.

    loudness_strict=False reports loudness misses as warnings (used when no loudness
    normalisation was planned for this output).
    """
    from pipeline.analysis.loudness import measure_file
    from pipeline.errors import ReelforgeError
    from pipeline.model.media import probe

    report = OutputReport(Path(path), preset_name)
    add = report.checks.append
    try:
        info = probe(path)
    except ReelforgeError as exc:
        add(Check("probe", "readable", str(exc), "fail"))
        return report
    if not info.video:
        add(Check("video", "one stream", "none", "fail"))
        return report
    v = info.v
    w, h = v.display_size
    add(Check("size", f"{settings.width}x{settings.height}", f"{w}x{h}",
              _status(rules.picture_size_ok((w, h), (settings.width, settings.height)))))
    add(Check("fps", f"{float(settings.fps):.3f}", f"{float(v.fps):.3f}", _status(abs(v.fps - settings.fps) < Fraction(1, 1000))))
    add(Check("video codec", rules.codec_name(settings.video_codec), v.codec,
              _status(rules.codec_ok(v.codec, settings.video_codec))))
    add(Check("pixel format", settings.pix_fmt, v.pix_fmt, _status(v.pix_fmt == settings.pix_fmt)))
    want_frames = frames_in(duration, settings.fps)
    if v.frames:
        add(Check("frames", str(want_frames), str(v.frames), _status(v.frames == want_frames)))
    vdur = v.duration if v.duration is not None else info.duration
    frame = 1 / settings.fps
    want_dur = Fraction(want_frames) / settings.fps
    add(Check("duration", f"{float(want_dur):.3f}s", f"{float(vdur):.3f}s", _status(abs(vdur - want_dur) <= frame)))
    if info.audio:
        a = info.audio[0]
        want_a = rules.codec_name(settings.audio_codec)
        add(Check("audio codec", f"{want_a} {settings.sample_rate} Hz {settings.channels}ch",
                  f"{a.codec} {a.sample_rate} Hz {a.channels}ch",
                  _status(a.codec == want_a and a.sample_rate == settings.sample_rate and a.channels == settings.channels)))
        if a.duration is not None:
            # AAC frames are 1024 samples: the audio may end up to one frame of video plus
            # one AAC frame away from the picture.
            slack = frame + Fraction(1024, settings.sample_rate)
            add(Check("audio duration", f"{float(want_dur):.3f}s", f"{float(a.duration):.3f}s",
                      _status(abs(a.duration - want_dur) <= slack)))
    else:
        add(Check("audio codec", settings.audio_codec, "none", "fail"))
    size_mb = info.size_bytes / 1e6
    if max_size_mb is not None:
        add(Check("file size", f"<= {max_size_mb:g} MB", f"{size_mb:.2f} MB",
                  _status(rules.file_size_ok(info.size_bytes, max_size_mb))))
    else:
        add(Check("file size", "-", f"{size_mb:.2f} MB", "pass"))
    if max_duration is not None:
        add(Check("max duration", f"<= {max_duration:g}s", f"{float(info.duration):.2f}s",
                  _status(rules.duration_ok(info.duration, max_duration, settings.fps))))
    if settings.faststart and info.container.split(",")[0] in ("mov", "mp4", "m4a", "3gp", "3g2", "mj2"):
        boxes = [b for b in top_level_boxes(Path(path)) if b in ("moov", "mdat")]
        add(Check("moov first", "moov before mdat", " < ".join(boxes), _status(boxes[:1] == ["moov"])))
    if info.audio:
        loud = measure_file(str(path))
        report.measured = {"integrated_lufs": loud.integrated_lufs, "true_peak_dbtp": loud.true_peak_dbtp}
        miss = "fail" if loudness_strict else "warn"
        if loud.integrated_lufs is None:
            add(Check("loudness", "-", "silent", "pass"))
        elif settings.loudness_lufs is not None:
            ok = rules.loudness_ok(loud.integrated_lufs, settings.loudness_lufs, loudness_tolerance_lu)
            add(Check("loudness", f"{settings.loudness_lufs:g}±{loudness_tolerance_lu:g} LUFS",
                      f"{loud.integrated_lufs:.1f} LUFS", "pass" if ok else miss))
        else:
            add(Check("loudness", "-", f"{loud.integrated_lufs:.1f} LUFS", "pass"))
        if loud.true_peak_dbtp is not None and settings.true_peak_dbtp is not None:
            ok = rules.true_peak_ok(loud.true_peak_dbtp, settings.true_peak_dbtp)
            add(Check("true peak", f"<= {settings.true_peak_dbtp:g} dBTP", f"{loud.true_peak_dbtp:.1f} dBTP",
                      "pass" if ok else miss))
    return report


def report_table(reports: list[OutputReport]) -> tuple[str, list[str], list[list[Cell]]]:
    """(title, columns, rows) of the verification table: one row per output, one column
    per check; show it with Reporter.table."""
    names: list[str] = []
    for r in reports:
        for c in r.checks:
            if c.name not in names:
                names.append(c.name)
    rows: list[list[Cell]] = []
    for r in reports:
        cells: list[Cell] = [(r.preset, "")]
        for n in names:
            c = r.check(n)
            if c is None:
                cells.append(("-", ""))
                continue
            cells.append((c.actual if c.status == "pass" else f"{c.actual} (want {c.expected})", c.status))
        cells.append(("ok", "pass") if r.ok else ("FAILED", "fail"))
        rows.append(cells)
    return "verification", ["output", *names, "result"], rows
