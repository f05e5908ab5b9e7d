"""Loudness in export: integrated loudness on target and true peak under the ceiling,
measured independently (pyloudnorm and 4x oversampling with scipy)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from pipeline.analysis.audio import decode_audio
from pipeline.analysis.loudness import Loudness
from pipeline.delivery.loudness import decide, plan
from pipeline.adapters.inputs import load_inputs
from tests.conftest import run_cli
from tests.media import make_clip, stream_durations
from tests.soundkit import RATE, apply_stage, click_bed, small_settings, tiny_presets, true_peak_db, write_audio


def _measure(path: Path) -> tuple[float, float]:
    import pyloudnorm

    y = decode_audio(str(path), sample_rate=RATE, mono=False).astype(np.float64)
    return pyloudnorm.Meter(RATE).integrated_loudness(y), true_peak_db(y)


@pytest.fixture
def presets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tiny_presets(tmp_path / "presets")
    monkeypatch.setenv("REELFORGE_PRESETS", str(folder))
    return folder


def test_export_meets_targets_with_voice_and_music(tmp_path: Path, presets: Path) -> None:
    a = make_clip(tmp_path / "a.mp4", duration=3.0)
    b = make_clip(tmp_path / "b.mp4", duration=3.0, audio=True, tone=300.0)
    write_audio(tmp_path / "bed.wav", click_bed(8.0) * 0.8)
    (tmp_path / "vo.txt").write_text("[0.5] Built for long days outside.\n[3.5] Trailforge. Made for the summit.\n")
    tl = load_inputs([a, b])
    tl = apply_stage("voiceover", tl, tmp_path, script="vo.txt")
    tl = apply_stage("music", tl, tmp_path, track="bed.wav", original_audio_db=-20)
    tl.save(tmp_path / "scored.timeline.json")
    res = run_cli("export", str(tmp_path / "scored.timeline.json"), "-p", "tiny-14", "-p", "tiny-23",
                  "-o", str(tmp_path / "out"), env={"REELFORGE_PRESETS": str(presets)})
    assert res.returncode == 0, res.stderr
    assert "loudness: mix" in res.stderr
    for name, target, ceiling in (("tiny-14", -14.0, -1.0), ("tiny-23", -23.0, -2.0)):
        out = tmp_path / "out" / f"scored.{name}.mp4"
        lufs, peak = _measure(out)
        assert abs(lufs - target) <= 0.5, (name, lufs)
        assert peak <= ceiling, (name, peak)
        vdur, adur = stream_durations(out)
        assert abs(vdur - 6) < 0.04


def test_mix_with_long_crossfades_is_measured_as_rendered(tmp_path: Path, presets: Path) -> None:
    """Two loud clips joined by long dissolves: the plan measures the cross-faded sound the
    render makes, so the exported file lands on target."""
    a = make_clip(tmp_path / "a.mp4", duration=2.0, audio=True, tone=200.0)
    b = make_clip(tmp_path / "b.mp4", duration=2.0, audio=True, tone=300.0)
    c = make_clip(tmp_path / "c.mp4", duration=2.0, audio=True, tone=400.0)
    seq = tmp_path / "seq.timeline.json"
    r = run_cli("stitch", str(a), str(b), str(c), "--transition", "dissolve:0.9", "-o", str(seq))
    assert r.returncode == 0, r.stderr
    r = run_cli("export", str(seq), "-p", "tiny-14", "-o", str(tmp_path / "out"),
                env={"REELFORGE_PRESETS": str(presets)})
    assert r.returncode == 0, r.stderr
    out = tmp_path / "out" / "seq.tiny-14.mp4"
    lufs, peak = _measure(out)
    assert abs(lufs + 14.0) <= 0.5, lufs
    assert peak <= -1.0
    vdur, adur = stream_durations(out)
    assert vdur == Fraction(21, 5) and adur is not None and abs(adur - vdur) <= Fraction(1, 30)


def test_peaky_quiet_mix_is_limited_not_compressed(tmp_path: Path, presets: Path) -> None:
    """A quiet mix with sharp peaks needs +20 dB: the limiter catches the peaks and the
    level still lands on target."""
    clip = make_clip(tmp_path / "c.mp4", duration=4.0)
    bed = click_bed(4.0) * 0.25
    bed[::4800] = 0.9  # a sharp spike every 0.1 s
    write_audio(tmp_path / "spiky.wav", bed)
    tl = apply_stage("music", load_inputs([clip]), tmp_path, track="spiky.wav", gain_db=-6, fade_in=0, fade_out=0)
    from pipeline.delivery.presets import get_preset

    settings = plan(tl, [get_preset("tiny-14").settings(tl.canvas.fps)])
    assert settings[0].limiter_dbtp is not None and settings[0].audio_gain_db > 15
    apply_stage("export", tl, tmp_path, presets=["tiny-14"], dir="out", name="spiky")
    lufs, peak = _measure(tmp_path / "out" / "spiky.tiny-14.mp4")
    assert abs(lufs + 14.0) <= 0.5 and peak <= -1.0, (lufs, peak)


def test_decide_is_a_linear_gain_with_limiter_only_when_needed() -> None:
    assert decide(Loudness(-20.0, 4.0, -10.0), -14.0, -1.0) == (6.0, None)
    gain, limit = decide(Loudness(-20.0, 4.0, -3.0), -14.0, -1.0)
    assert gain == 6.0 and limit is not None and limit <= -1.0
    assert decide(Loudness(-10.0, 4.0, -0.5), -23.0, -1.0) == (-13.0, None)


def test_silent_timeline_and_no_target_are_left_alone(tmp_path: Path) -> None:
    tl = load_inputs([make_clip(tmp_path / "s.mp4", duration=1.0)])
    s = small_settings()
    assert plan(tl, [s]) == [s]
    import dataclasses

    with_target = dataclasses.replace(s, loudness_lufs=-14.0, true_peak_dbtp=-1.0)
    assert plan(tl, [with_target]) == [with_target]  # silence: nothing to normalise


def test_render_never_uses_loudnorm(tmp_path: Path) -> None:
    import dataclasses

    from pipeline.render.graph import build_argv

    tl = load_inputs([make_clip(tmp_path / "t.mp4", duration=1.0, audio=True)])
    s = dataclasses.replace(small_settings(), audio_gain_db=3.0, limiter_dbtp=-1.5)
    argv = " ".join(build_argv(tl, [(s, tmp_path / "o.mp4")]))
    assert "loudnorm" not in argv and "volume=3.000dB" in argv and "alimiter" in argv


def test_standalone_render_is_normalised_to_the_master_target(tmp_path: Path) -> None:
    """A stage command rendering straight to .mp4 gets the master preset's loudness."""
    from pipeline.delivery.presets import get_preset

    clip = make_clip(tmp_path / "pic.mp4", size="320x180", duration=3.0)
    bed = Path(__file__).resolve().parents[1] / "samples" / "music" / "bed.m4a"
    out = tmp_path / "with music.mp4"
    r = run_cli("music", str(clip), "--track", str(bed), "-o", str(out))
    assert r.returncode == 0, r.stderr
    preset = get_preset("master")
    lufs, peak = _measure(out)
    assert abs(lufs - preset.loudness_lufs) <= 0.5
    assert peak <= preset.true_peak_dbtp


def test_reframed_outputs_share_one_loudness_plan(tmp_path: Path) -> None:
    """Presets of other shapes get reframed copies of the timeline: the picture differs,
    the mix does not, so the mix is rendered and measured once for all of them."""
    from tests.ffmpeglog import commands, logged_ffmpeg

    src = make_clip(tmp_path / "a.mp4", size="320x180", duration=1.0, audio=True)
    log = tmp_path / "ffmpeg.log"
    r = run_cli("export", str(src), "-p", "web-preview", "-p", "linkedin-square", "--speed", "ultrafast",
                "-o", str(tmp_path / "out"), env={"REELFORGE_FFMPEG": str(logged_ffmpeg(tmp_path, log))})
    assert r.returncode == 0, r.stderr  # both verified on their loudness target
    mixes = [argv for argv in commands(log) if argv[-1].endswith("mix.wav")]
    assert len(mixes) == 1, mixes
