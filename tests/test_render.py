"""The render core: mixed clips onto one canvas, exact to the frame."""

import copy
from fractions import Fraction
from pathlib import Path

import numpy as np

from pipeline.analysis.frames import frame_at
from pipeline.model.media import probe
from pipeline.render import OutputSettings, render
from pipeline.timebase import frames_in
from pipeline.model.timeline import Timeline
from pipeline.model.clips import timeline_from_media
from tests.media import frames_of, make_clip, stream_durations


def _settings(w: int = 320, h: int = 180, fps: Fraction = Fraction(30)) -> OutputSettings:
    return OutputSettings(width=w, height=h, fps=fps, x264_preset="ultrafast", crf=23)


def test_mixed_clips_exact_duration_and_sync(tmp_path: Path) -> None:
    clips = [
        make_clip(tmp_path / "a.mp4", size="320x180", fps="24", duration=1.5, color="red"),
        make_clip(tmp_path / "b.mp4", size="180x320", fps="30000/1001", duration=1.0, audio=True, color="lime"),
        make_clip(tmp_path / "c.mp4", size="240x240", fps="25", duration=1.2, pix_fmt="yuv444p", color="blue"),
    ]
    tl = timeline_from_media(clips)
    out = tmp_path / "out.mp4"
    render(tl, [(_settings(), out)])
    info = probe(out)
    assert (info.v.width, info.v.height) == (320, 180)
    assert info.v.fps == 30 and info.v.pix_fmt == "yuv420p"
    vdur, adur = stream_durations(out)
    # The expected length comes from the sources as decoded (frames / rate), not from the
    # timeline model: 1.5 s + 30 frames at 30000/1001 (1.001 s) + 1.2 s = 3.701 s -> 111 frames.
    lengths = [stream_durations(c)[0] for c in clips]
    assert lengths == [Fraction(3, 2), Fraction(1001, 1000), Fraction(6, 5)]
    expected_frames = round(sum(lengths) * 30)
    assert expected_frames == 111 == frames_in(tl.duration, Fraction(30))
    assert frames_of(out) == expected_frames
    assert vdur == Fraction(expected_frames, 30)
    assert adur is not None and abs(adur - vdur) <= Fraction(1, 30)
    # each clip's content sits at its place on the timeline (places from the measured lengths)
    starts = [sum(lengths[:i], Fraction(0)) for i in range(len(lengths))]
    assert starts == tl.clip_starts()
    for length, start, colour in zip(lengths, starts, [(255, 0, 0), (0, 255, 0), (0, 0, 255)]):
        mid = float(start + length / 2)
        px = frame_at(str(out), mid)[90, 160].astype(int)
        assert np.abs(px - np.array(colour)).max() < 40, (mid, px)


def test_contain_blur_and_cover(tmp_path: Path) -> None:
    clip = make_clip(tmp_path / "w.mp4", size="320x180", duration=0.5, color="white")
    for fit, edge_is_white in (("contain", False), ("cover", True), ("contain-blur", None)):
        tl = timeline_from_media([clip])
        tl.fit = fit
        out = tmp_path / f"{fit}.mp4"
        render(tl, [(_settings(180, 320), out)])
        top = frame_at(str(out), 0.2)[5, 90].astype(int)
        if edge_is_white is True:
            assert top.min() > 200
        elif edge_is_white is False:
            assert top.max() < 30
        else:  # blurred copy of a white frame, darkened a little: bright but not black
            assert 120 < top.mean() < 250


def test_trimmed_and_held_clip(tmp_path: Path) -> None:
    clip = make_clip(tmp_path / "t.mp4", duration=2.0, fps="25", audio=True)
    tl = timeline_from_media([clip])
    tl.video[0].in_point = Fraction(2, 5)
    tl.video[0].out_point = Fraction(7, 5)
    tl.video[0].hold = Fraction(2, 5)
    out = tmp_path / "held.mp4"
    render(tl, [(_settings(fps=Fraction(25)), out)])
    vdur, adur = stream_durations(out)
    assert vdur == Fraction(7, 5)
    assert adur is not None and abs(adur - vdur) <= Fraction(1, 25)


def test_failed_render_leaves_nothing(tmp_path: Path) -> None:
    import pytest

    from pipeline.errors import RenderError

    clip = make_clip(tmp_path / "x.mp4", duration=0.5)
    tl = timeline_from_media([clip])
    before = copy.deepcopy(tl.to_dict())
    out = tmp_path / "never.mp4"
    bad = OutputSettings(width=320, height=180, fps=Fraction(30), video_codec="no_such_encoder")
    with pytest.raises(RenderError) as err:
        render(tl, [(bad, out)])
    assert "no_such_encoder" in str(err.value) or "Unknown encoder" in str(err.value)
    assert list(tmp_path.iterdir()) == [clip]
    assert tl.to_dict() == before  # the failed render left the timeline as it was


PEAK_SCRIPT = """
import resource, sys
from fractions import Fraction
from pathlib import Path
from pipeline.model.clips import timeline_from_media
from pipeline.render import OutputSettings, render
src, uses, out = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
tl = timeline_from_media([src] * uses)
render(tl, [(OutputSettings(width=640, height=360, fps=Fraction(30), x264_preset="ultrafast", crf=30), out)])
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)  # KiB: the render's ffmpeg
"""


def test_a_source_used_three_times_is_decoded_per_use_in_flat_memory(tmp_path: Path) -> None:
    """Three uses of one clip: ffmpeg's peak memory stays near one use's (a split of one
    decode would queue the later uses' frames until the timeline reaches them)."""
    import subprocess
    import sys

    src = make_clip(tmp_path / "a.mp4", size="640x360", duration=4.0, audio=True, pattern="testsrc2")
    peaks = {}
    for uses in (1, 3):
        r = subprocess.run([sys.executable, "-c", PEAK_SCRIPT, str(src), str(uses), str(tmp_path / f"o{uses}.mp4")],
                           capture_output=True, text=True, check=True)
        peaks[uses] = int(r.stdout.split()[-1])
    assert peaks[3] < 1.35 * peaks[1], peaks  # a split measured 2.1x here
    out = tmp_path / "o3.mp4"
    assert frames_of(out) == 360
    # the third use shows the source from its start again
    diff = np.abs(frame_at(str(out), 9.5, width=160).astype(int) - frame_at(str(src), 1.5, width=160).astype(int))
    assert diff.mean() < 6, diff.mean()
