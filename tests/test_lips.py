"""Lip sync on real talking heads (../shared/media/talking, see its SOURCES.md).

Their true offset is unknown, so these tests check what holds without ground truth: an
injected shift moves the estimate by exactly that much; another clip's sound is not
measurable; the two halves of a clip agree. Plus the reasons given when lips cannot be
measured, and the vendored model's checksum."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import pytest

from pipeline.ffmpeg import ffmpeg_exe
from tests.media import ffmpeg
from tests.syncclips import flash_clip

TALKING = Path(__file__).resolve().parents[1] / ".." / "shared" / "media" / "talking"
CLIP = "vox_Audio_Source_681100216.mp4"  # 9.8 s, 25 fps, one speaker facing the camera
OTHER = "vox_Pose_Source_741400163.mp4"  # another speaker: its sound is unrelated to CLIP
FRAME_MS = 40.0

needs_talking = pytest.mark.skipif(not (TALKING / CLIP).is_file(),
                                   reason=f"real talking-head clips not found at {TALKING}")


def shifted(src: Path, ms: float, out: Path, audio_from: Path | None = None) -> Path:
    """A copy of src, video stream-copied, its sound moved `ms` earlier (negative: later),
    or replaced by audio_from's sound; the sound keeps the picture's length."""
    from pipeline.model.media import probe

    dur = float(probe(str(src)).duration)
    chain = (f"atrim=start={ms / 1000:.4f},asetpts=PTS-STARTPTS,apad" if ms > 0
             else f"adelay={-ms:g}:all=1,apad")
    audio = audio_from or src
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostdin", "-v", "error", "-y", "-i", str(src), "-i", str(audio),
                    "-map", "0:v:0", "-map", "1:a:0", "-c:v", "copy", "-af", chain, "-t", f"{dur:.3f}",
                    "-c:a", "aac", "-b:a", "128k", str(out)], check=True)
    return out


def test_vendored_model_matches_its_checksum() -> None:
    from stages.check import landmarks

    assert hashlib.sha256(landmarks.MODEL.read_bytes()).hexdigest() == landmarks.MODEL_SHA256
    assert (landmarks.MODEL.parent / "LICENSE").read_text().lstrip().startswith("Apache License")
    import cv2

    assert cv2.dnn.readNetFromTFLite(str(landmarks.MODEL)) is not None
    assert not landmarks.face_cascade().empty()


@needs_talking
def test_injected_shifts_move_the_estimate_by_the_same_amount(tmp_path: Path) -> None:
    from stages.check.measure import measure_sync

    base = measure_sync(str(TALKING / CLIP))
    assert base.feature == "lips" and base.offset_ms is not None, base.reason
    assert base.confidence >= 0.97
    for ms in (-200.0, 120.0):
        res = measure_sync(str(shifted(TALKING / CLIP, ms, tmp_path / f"shift {ms:+g}.mp4")))
        assert res.feature == "lips" and res.offset_ms is not None, (ms, res.reason)
        moved = res.offset_ms - base.offset_ms
        assert abs(moved - ms) <= FRAME_MS, f"injected {ms:+g} ms, the estimate moved {moved:+.1f} ms"


@needs_talking
def test_report_shows_mouth_against_speech(cli, tmp_path: Path) -> None:
    report = tmp_path / "lips.html"
    proc = cli("check", str(TALKING / CLIP), "--report", str(report))
    assert proc.returncode == 1 and "sample_rate" in proc.stderr  # 16 kHz sound: a delivery problem, not sync
    text = report.read_text()
    assert "av_sync</td><td>" in text and "(audio late), confidence" in text
    assert "Speech level (red, top) and mouth opening (blue, bottom" in text
    assert "The frame at the strongest matched moment (lips)" in text


@needs_talking
def test_sound_from_another_clip_is_not_measurable(tmp_path: Path) -> None:
    from stages.check.measure import measure_sync

    mixed = shifted(TALKING / CLIP, 0.0, tmp_path / "other sound.mp4", audio_from=TALKING / OTHER)
    res = measure_sync(str(mixed))
    assert res.offset_ms is None
    assert res.reason.startswith("no clear match"), res.reason


@needs_talking
def test_two_halves_agree(tmp_path: Path) -> None:
    from pipeline.model.media import probe
    from stages.check.measure import measure_sync

    path = str(TALKING / CLIP)
    half = float(probe(path).duration) / 2
    first, second = measure_sync(path, end=half), measure_sync(path, start=half)
    assert first.start_s == 0 and second.start_s == pytest.approx(half, abs=1e-3)
    measured = [r for r in (first, second) if r.offset_ms is not None]
    assert len(measured) == 2, [r.reason for r in (first, second)]
    assert abs(first.offset_ms - second.offset_ms) <= FRAME_MS  # type: ignore[operator]


@needs_talking
def test_a_held_frame_says_the_mouth_does_not_move(tmp_path: Path) -> None:
    from pipeline.model.media import probe
    from stages.check.lips import measure_lips

    still = tmp_path / "held frame.mp4"
    ffmpeg("-ss", "2", "-i", str(TALKING / CLIP), "-frames:v", "1", str(tmp_path / "face.png"))
    ffmpeg("-loop", "1", "-framerate", "25", "-i", str(tmp_path / "face.png"), "-i", str(TALKING / CLIP),
           "-map", "0:v", "-map", "1:a", "-t", "5", "-c:v", "libx264", "-preset", "ultrafast",
           "-pix_fmt", "yuv420p", "-c:a", "aac", str(still))
    res = measure_lips(str(still), probe(str(still)), 0.0, 5.0, 1.0)
    assert res.offset_ms is None and res.reason == "mouth does not move"


def test_no_face_is_said(tmp_path: Path) -> None:
    from pipeline.model.media import probe
    from stages.check.lips import measure_lips

    clip = flash_clip(tmp_path / "flashes.mp4", 25, 0.0, duration=3.0, seed=3)
    res = measure_lips(str(clip), probe(str(clip)), 0.0, 3.0, 1.0)
    assert res.offset_ms is None and res.reason == "no face"
