from fractions import Fraction
from pathlib import Path

import pytest

from pipeline.errors import InputError
from pipeline.media import probe
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
