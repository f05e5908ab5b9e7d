"""music: looping on a beat, trimming with fades, the clips' own sound, and ducking under
the voice (measured in the rendered file)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from pipeline.analysis.audio import decode_audio
from pipeline.render import render
from pipeline.adapters.inputs import load_inputs
from tests.conftest import run_cli
from tests.media import make_clip, stream_durations
from tests.soundkit import RATE, apply_stage, band_db, click_bed, onset, small_settings, write_audio

BAND = (12500.0, 13500.0)  # where the test bed's tone lives; no espeak-ng voice reaches it


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("music")
    return {
        "a": make_clip(d / "a.mp4", duration=3.0),
        "b": make_clip(d / "b.mp4", duration=3.0, pattern="smptebars"),
        "loud": make_clip(d / "loud.mp4", duration=3.0, audio=True, tone=1000.0),
        "short": write_audio(d / "short bed [it's] 100%;ü.wav", click_bed(2.5)),
        "long": write_audio(d / "long,bed.m4a", click_bed(12.0), codec=["-c:a", "aac", "-b:a", "192k"]),
    }


def test_ducking_under_the_voice(media: dict[str, Path], tmp_path: Path) -> None:
    tl = load_inputs([media["a"], media["b"]])
    (tmp_path / "vo.txt").write_text("[1.0] Built for long days outside, in any weather.\n")
    tl = apply_stage("voiceover", tl, tmp_path, script="vo.txt")
    tl = apply_stage("music", tl, tmp_path, track=str(media["long"]), fade_in=0, fade_out=0)
    assert tl.track("music").duck is not None and tl.track("music").duck.amount_db == 12
    out = tmp_path / "ducked.mp4"
    render(tl, [(small_settings(), out)])
    y = decode_audio(str(out), sample_rate=RATE, mono=True)
    level = band_db(y, *BAND)
    times = (np.arange(level.size) + 0.5) * 0.05
    item = tl.track("voiceover").items[0]
    s, e = float(item.start), float(item.end)
    speaking = level[(times > s + 0.05) & (times < e - 0.05)]
    clear = level[(times < s - 0.5) | ((times > e + 0.9) & (times < 5.9))]
    assert speaking.size > 20 and clear.size > 10
    # the whole line (gaps between words included: no pumping) is at least 10 dB down
    assert np.median(clear) - np.max(speaking) >= 10.0, (np.median(clear), np.max(speaking))
    assert np.median(clear) - np.median(speaking) <= 14.0  # about the 12 dB asked for
    # smooth: ramps (80 ms down, 400 ms up), no step of more than 3 dB between 10 ms windows
    fine = band_db(y, *BAND, window=0.01)
    ft = (np.arange(fine.size) + 0.5) * 0.01
    around = fine[(ft > s - 0.3) & (ft < e + 0.6)]
    assert np.max(np.abs(np.diff(around))) < 3.0


def test_short_track_loops_on_the_beat(media: dict[str, Path], tmp_path: Path) -> None:
    tl = load_inputs([media["a"], media["b"]])
    tl = apply_stage("music", tl, tmp_path, track=str(media["short"]), fade_in=0, fade_out=0, duck_db=0)
    item = tl.track("music").items[0]
    assert item.loop and item.duration == Fraction(6) and item.crossfade > 0
    period = item.out_point - item.loop_start
    assert abs(float(period) / 0.5 - round(float(period) / 0.5)) < 0.06  # whole beats apart
    out = tmp_path / "looped.mp4"
    render(tl, [(small_settings(), out)])
    y = decode_audio(str(out), sample_rate=RATE, mono=True)
    assert np.all(band_db(y, *BAND)[2:-2] > -60)  # never a gap in the bed
    # the clicks keep a steady 0.5 s grid across every loop seam
    clicks, t = [], 0.0
    while t < 5.7:
        c = onset(y, t, threshold_db=-16.0)
        clicks.append(c)
        t = c + 0.25
    gaps = np.diff(clicks)
    assert len(clicks) >= 10 and np.all(np.abs(gaps - 0.5) < 0.03), gaps


def test_long_track_is_trimmed_with_fades(media: dict[str, Path], tmp_path: Path) -> None:
    tl = load_inputs([media["a"]])
    tl = apply_stage("music", tl, tmp_path, track=str(media["long"]), fade_in=0.5, fade_out=1.0)
    item = tl.track("music").items[0]
    assert not item.loop and item.duration == Fraction(3)
    out = tmp_path / "trimmed.mp4"
    render(tl, [(small_settings(), out)])
    vdur, adur = stream_durations(out)
    assert vdur == Fraction(3)
    level = band_db(decode_audio(str(out), sample_rate=RATE, mono=True), *BAND)
    assert level[20] - level[0] > 12  # fading in over the first 0.5 s
    assert level[-25] - level[-2] > 12  # fading out over the last second


def test_original_audio_level_and_mute(media: dict[str, Path], tmp_path: Path) -> None:
    tl = load_inputs([media["loud"]])
    quiet = apply_stage("music", tl, tmp_path, track=str(media["long"]), original_audio_db=-12, duck_db=0)
    muted = apply_stage("music", tl, tmp_path, track=str(media["long"]), original_audio_db="mute", duck_db=0)
    levels = {}
    for name, t in (("plain", apply_stage("music", tl, tmp_path, track=str(media["long"]), duck_db=0)),
                    ("quiet", quiet), ("muted", muted)):
        out = tmp_path / f"{name}.mp4"
        render(t, [(small_settings(), out)])
        levels[name] = float(np.median(band_db(decode_audio(str(out), sample_rate=RATE), 950, 1050)[10:-10]))
    assert abs((levels["plain"] - levels["quiet"]) - 12) < 1.0, levels
    assert levels["plain"] - levels["muted"] > 50, levels


def test_cli_bad_inputs(media: dict[str, Path], tmp_path: Path) -> None:
    res = run_cli("music", str(media["a"]), "--track", str(tmp_path / "nope.wav"), "-o", str(tmp_path / "o.timeline.json"))
    assert res.returncode == 2 and "nope.wav" in res.stderr and "Traceback" not in res.stderr
    res = run_cli("music", str(media["a"]), "--track", str(media["short"]), "--original-audio-db", "loud",
                  "-o", str(tmp_path / "o.timeline.json"))
    assert res.returncode == 2 and "--original-audio-db" in res.stderr
    res = run_cli("music", str(media["a"]), "--track", str(media["a"]), "-o", str(tmp_path / "o.timeline.json"))
    assert res.returncode == 2 and "no audio" in res.stderr
    assert not (tmp_path / "o.timeline.json").exists()


NUMBA_PROBE = """
from pipeline.analysis.beats import _librosa
_librosa()
import numba

@numba.njit(cache=True)
def twice(x):
    return 2 * x

print(twice(21))
"""


def test_numba_compiles_into_the_reelforge_cache(tmp_path: Path) -> None:
    """Beat tracking's compiled functions are cached in REELFORGE_CACHE (once per machine)."""
    import os
    import subprocess
    import sys

    probe = tmp_path / "probe_twice.py"  # numba caches functions of a module file
    probe.write_text(NUMBA_PROBE)
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    env.update(REELFORGE_CACHE=str(tmp_path / "cache"), PYTHONPATH=os.getcwd())
    r = subprocess.run([sys.executable, str(probe)], capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0 and r.stdout.strip() == "42", r.stderr
    assert list((tmp_path / "cache" / "numba").rglob("probe_twice.twice-*.nbi")), \
        list((tmp_path / "cache").rglob("*"))
