from fractions import Fraction
from pathlib import Path

import pytest

from pipeline.errors import InputError
from pipeline.model.media import probe
from tests.media import make_clip


@pytest.mark.parametrize("fps", ["24", "25", "30", "30000/1001"])
@pytest.mark.parametrize("audio", [False, True])
def test_probe_rates_and_audio(tmp_path: Path, fps: str, audio: bool) -> None:
    clip = make_clip(tmp_path / f"c.mp4", size="320x240", fps=fps, duration=1.0, audio=audio)
    info = probe(clip)
    v = info.v
    assert v.fps == Fraction(fps)
    assert (v.width, v.height) == (320, 240)
    assert v.display_aspect == Fraction(4, 3)
    assert v.variable_fps is False
    assert v.pix_fmt == "yuv420p"
    assert info.has_audio is audio
    if audio:
        assert info.audio[0].sample_rate == 48000 and info.audio[0].channels == 2
    assert abs(float(info.duration) - 1.0) < 0.05


def test_probe_rotation_swaps_display_size(tmp_path: Path) -> None:
    clip = make_clip(tmp_path / "r.mp4", size="320x180", rotation=90, duration=0.5)
    v = probe(clip).v
    assert v.rotation in (90, 270)
    assert v.display_size == (180, 320)


def test_probe_variable_frame_rate(tmp_path: Path) -> None:
    from tests.media import ffmpeg

    out = tmp_path / "vfr.mp4"
    # drop every other frame in the first half: timestamps become irregular
    ffmpeg("-f", "lavfi", "-i", "testsrc2=s=160x120:r=30:d=2", "-vf",
           "select='if(lt(t,1),not(mod(n,2)),1)'", "-fps_mode", "vfr", "-c:v", "libx264",
           "-preset", "ultrafast", str(out))
    assert probe(out).v.variable_fps is True


@pytest.mark.parametrize("content,label", [(b"", "empty"), (b"hello, not a video\n" * 10, "not a readable")])
def test_probe_rejects_non_media(tmp_path: Path, content: bytes, label: str) -> None:
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(content)
    with pytest.raises(InputError, match=label):
        probe(bad)


def test_a_file_cut_short_is_bad_input_not_a_short_render(tmp_path: Path) -> None:
    """An mp4 whose index (moov at the front) promises 4 s but whose data stops at 60 %
    (a copy or download that was interrupted): probing names the file, so no command
    renders a short or stalled output from it and exits 0."""
    from tests.conftest import run_cli
    from tests.media import ffmpeg

    whole = tmp_path / "whole.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=s=160x90:r=30:d=4", "-f", "lavfi", "-i", "sine=d=4", "-c:v", "libx264",
           "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-movflags", "+faststart", str(whole))
    cut = tmp_path / "cut short.mp4"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size * 6 // 10])
    assert probe(whole).duration == 4
    with pytest.raises(InputError, match=r"cut short\.mp4: truncated or damaged: its video stops at 2\.\d\ds of 4\.00s"):
        probe(cut)
    r = run_cli("stitch", str(cut), str(whole), "-o", str(tmp_path / "joined.mp4"))
    assert r.returncode == 2 and "truncated" in r.stderr and not (tmp_path / "joined.mp4").exists()
