"""Clips that already speak: the speech detector on real sound, the music bed ducking under
each clip's dialogue, measured in the rendered file (real talking heads from
../shared/media/talking stitched with a silent clip; see its SOURCES.md)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from pipeline.adapters.inputs import load_inputs
from pipeline.analysis.audio import decode_audio
from pipeline.analysis.dialogue import clip_dialogue
from pipeline.analysis.vad import speech_spans
from pipeline.model.timeline import Timeline
from pipeline.render import OutputSettings, render
from stages.voiceover.dialogue import MARGIN
from tests.media import make_clip, stream_durations
from tests.soundkit import RATE, apply_stage, band_db, click_bed, small_settings, tone, write_audio

MEDIA = Path(__file__).resolve().parents[1] / ".." / "shared" / "media"
TALKING = MEDIA / "talking"
SPEAKERS = ("vox_Input_00010.mp4", "vrt_1.mp4")  # 4.2 s of talk; 6.1 s with two pauses
BAND = (12500.0, 13500.0)  # the test bed's tone: above what these recordings carry
SAMPLE_BED = Path(__file__).resolve().parents[1] / "samples" / "music" / "bed.m4a"

needs_talking = pytest.mark.skipif(not all((TALKING / n).is_file() for n in SPEAKERS),
                                   reason=f"real talking-head clips not found at {TALKING}")


def covered(spans: list[list[float]]) -> float:
    return sum(b - a for a, b in spans)


@needs_talking
def test_the_detector_finds_speech_in_real_voices_and_none_in_music_or_tones(tmp_path: Path) -> None:
    for name in ("vox_Input_00010.mp4", "vox_Audio_Source_00086.mp4", "vrt_3.mp4"):
        path = TALKING / name
        length = decode_audio(str(path), sample_rate=16000).size / 16000
        assert covered(speech_spans(str(path))) > 0.8 * length, name
    # vrt_1 pauses twice: the pauses are not speech
    spans = speech_spans(str(TALKING / "vrt_1.mp4"))
    assert len(spans) >= 2 and covered(spans) < 0.8 * 6.1
    # music (the demo's bed), a steady chord with ticks (like the offline clips' sound)
    # and silence are not speech
    assert speech_spans(str(SAMPLE_BED)) == []
    t = np.arange(int(4 * RATE)) / RATE
    chord = (0.08 * np.sin(2 * np.pi * 110 * t) + 0.06 * np.sin(2 * np.pi * 165 * t)
             + 0.3 * np.sin(2 * np.pi * 880 * t) * np.exp(-40 * np.mod(t, 1))).astype(np.float32)
    assert speech_spans(str(write_audio(tmp_path / "chord.wav", chord))) == []
    assert speech_spans(str(write_audio(tmp_path / "hum.wav", tone(4, 220, -20)))) == []
    assert speech_spans(str(make_clip(tmp_path / "mute.mp4", duration=1.0))) == []


@pytest.fixture(scope="module")
def talk(tmp_path_factory: pytest.TempPathFactory) -> tuple[Timeline, Path]:
    """Talking head (speech throughout), silent clip, talking head (with pauses): clip ids
    vox_Input_00010, silent, vrt_1."""
    if not all((TALKING / n).is_file() for n in SPEAKERS):
        pytest.skip(f"real talking-head clips not found at {TALKING}")
    d = tmp_path_factory.mktemp("dialogue")
    silent = make_clip(d / "silent.mp4", duration=3.0)
    return load_inputs([TALKING / SPEAKERS[0], silent, TALKING / SPEAKERS[1]]), d


def quick() -> OutputSettings:
    return OutputSettings(width=160, height=90, fps=Fraction(15), x264_preset="ultrafast", crf=35, profile=None)


@pytest.fixture(scope="module")
def scored(talk: tuple[Timeline, Path]) -> tuple[Timeline, Path]:
    """The talking timeline with a music bed, ducked by default; rendered."""
    tl, d = talk
    bed = write_audio(d / "bed.m4a", click_bed(16.0), codec=["-c:a", "aac", "-b:a", "192k"])
    tl = apply_stage("music", tl, d, track=str(bed), fade_in=0, fade_out=0)
    out = d / "scored.mp4"
    render(tl, [(small_settings(), out)])
    return tl, out


def test_music_ducks_at_least_10_db_under_each_clips_speech(scored: tuple[Timeline, Path]) -> None:
    tl, out = scored
    assert tl.track("music").duck is not None and tl.track("music").duck.roles == ["voiceover", "dialogue"]
    assert [bool(c.speech) for c in tl.video] == [True, False, True]
    level = band_db(decode_audio(str(out), sample_rate=RATE, mono=True), *BAND)
    times = (np.arange(level.size) + 0.5) * 0.05
    starts = [float(s) for s in tl.clip_starts()]
    silent = level[(times > starts[1] + 0.6) & (times < starts[2] - 0.1)]
    assert silent.size > 20
    bed = float(np.median(silent))
    spans = [s for spans in clip_dialogue(tl) for s in spans]
    assert len(spans) >= 3
    for a, b in spans:
        inside = level[(times > float(a) + 0.1) & (times < float(b) - 0.1)]
        assert inside.size > 5
        # every moment of each span, not just its average, is 10 dB or more below the bed
        assert bed - float(np.max(inside)) >= 10.0, (float(a), float(b), bed, float(np.max(inside)))
    vdur, adur = stream_durations(out)
    assert adur == vdur and abs(vdur - tl.duration) <= Fraction(1, 30)  # the sound ends with the picture


def windows(path: Path, rate: int = RATE, window: float = 0.02) -> np.ndarray:
    """RMS level (dBFS) of a rendered file's sound in consecutive windows."""
    y = decode_audio(str(path), sample_rate=rate, mono=True)
    n = int(window * rate)
    frames = y[: y.size // n * n].reshape(-1, n)
    return 10 * np.log10(np.mean(frames ** 2, axis=1) + 1e-12)


def stem(tl: Timeline, keep: str, out: Path) -> Path:
    """Render only the clips' own sound (keep="original") or only the narrator."""
    tl = tl.copy()
    tl.track("original" if keep == "voiceover" else "voiceover").muted = True
    render(tl, [(quick(), out)])
    return out


def test_avoid_moves_shot_lines_into_the_dialogues_gaps(talk: tuple[Timeline, Path], tmp_path: Path) -> None:
    tl, _ = talk
    (tmp_path / "vo.txt").write_text("[silent] Built for long days.\n[vrt_1] Rain or shine.\n")
    warnings: list[str] = []
    tl = apply_stage("voiceover", tl, tmp_path, warnings, script="vo.txt", over_dialogue="avoid")
    assert warnings == []
    first, second = tl.track("voiceover").items
    shot = float(tl.clip_starts()[2])
    cut = tl.cut_times()[0]  # the silent shot: it waits only for the talk before the cut to end
    assert cut <= first.start <= cut + MARGIN + Fraction(1, 100)
    assert float(second.start) > shot + 4.7  # after vrt_1's last words, in its final pause
    assert tl.audio.get("original") is None or tl.track("original").duck is None
    # measured on the render: where the narrator is heard, the clips' stem holds no speech
    narrator = windows(stem(tl, "voiceover", tmp_path / "narrator.mp4")) > -50
    speech = speech_spans(str(stem(tl, "original", tmp_path / "dialogue.mp4")))
    assert narrator.sum() * 0.02 > 1.0 and len(speech) >= 3
    talking = np.zeros_like(narrator)
    for a, b in speech:
        talking[int(a / 0.02):int(np.ceil(b / 0.02))] = True
    both = np.flatnonzero(narrator & talking)
    assert both.size == 0, [round(i * 0.02, 2) for i in both[:10]]
    # a shot that talks from end to end has no gap: the line stays and the user is told
    warnings.clear()
    (tmp_path / "busy.txt").write_text("[vox_Input_00010] Every trail starts before sunrise.\n")
    busy = apply_stage("voiceover", talk[0], tmp_path, warnings, script="busy.txt", over_dialogue="avoid")
    assert busy.track("voiceover").items[0].start == 0
    assert len(warnings) == 1 and "no gap in the dialogue of shot 'vox_Input_00010'" in warnings[0], warnings


def test_duck_lowers_the_speaking_clips_own_sound_under_the_narrator(tmp_path: Path) -> None:
    """A talking head, then a clip whose own sound is a steady tone (not speech): the
    narrator speaks over each; only the talking head's sound dips."""
    hum = make_clip(tmp_path / "hum.mp4", size="224x224", fps="25", duration=3.0, audio=True, tone=440.0)
    tl = load_inputs([TALKING / SPEAKERS[0], hum])
    (tmp_path / "vo.txt").write_text("[1.5] Rain or shine.\n[5.2] Rain or shine.\n")
    levels = {}
    for mode in ("duck", "mix"):
        t = apply_stage("voiceover", tl, tmp_path, script="vo.txt", over_dialogue=mode)
        t.track("voiceover").gain_db = -60.0  # the narrator drives the ducking but is not heard
        render(t, [(quick(), tmp_path / f"{mode}.mp4")])
        levels[mode] = windows(tmp_path / f"{mode}.mp4")
    over_talk, over_hum = t.track("voiceover").items
    assert over_talk.end < 4.24 < over_hum.start
    times = (np.arange(levels["duck"].size) + 0.5) * 0.02
    drop = levels["mix"] - levels["duck"]

    def during(item: object) -> np.ndarray:
        return drop[(times > float(item.start) + 0.1) & (times < float(item.end) - 0.1)]  # type: ignore[attr-defined]

    assert abs(float(np.median(during(over_talk))) - 12.0) < 1.0, np.median(during(over_talk))
    assert abs(float(np.median(during(over_hum)))) < 0.5  # the hum is no dialogue: left alone
    away = (times > 0.3) & (times < float(over_talk.start) - 0.5)
    assert abs(float(np.median(drop[away]))) < 0.5


def span_level(path: Path, a: float, b: float) -> float:
    y = decode_audio(str(path), sample_rate=16000, mono=True)
    part = y[int(a * 16000):int(b * 16000)].astype(np.float64)
    return float(10 * np.log10(np.mean(part ** 2) + 1e-20))


def test_the_music_to_speech_figures_agree_with_the_mix(scored: tuple[Timeline, Path], tmp_path: Path) -> None:
    from stages.check.balance import speech_balance

    tl, _ = scored
    balance = speech_balance(tl)
    assert balance is not None and [r["role"] for r in balance["spans"]] == ["dialogue"] * 3
    assert balance["min_difference_db"] >= 10
    # each part of the rendered mix measured alone
    music = tl.copy()
    music.track("original").gain_db = -60.0  # still ducks the music, no longer heard
    render(music, [(quick(), tmp_path / "music.mp4")])
    speech = tl.copy()
    speech.track("music").muted = True
    render(speech, [(quick(), tmp_path / "speech.mp4")])
    for row in balance["spans"]:
        a, b = row["start"] + 0.2, row["end"] - 0.2
        measured = span_level(tmp_path / "speech.mp4", a, b) - span_level(tmp_path / "music.mp4", a, b)
        assert abs(measured - row["difference_db"]) < 2.0, (row, measured)


COMMENTARY = MEDIA / "corpus" / "new-commentary.mp3"


@pytest.mark.skipif(not COMMENTARY.is_file(), reason=f"the spoken commentary is not at {COMMENTARY}")
def test_check_warns_when_the_music_is_under_10_db_below_the_narrator(tmp_path: Path) -> None:
    import json

    from tests.conftest import run_cli

    clip = make_clip(tmp_path / "view.mp4", duration=7.0)
    bed = write_audio(tmp_path / "bed.wav", click_bed(8.0))
    seq = tmp_path / "vo.timeline.json"
    r = run_cli("voiceover", str(clip), "--audio", str(COMMENTARY), "--at", "0.2", "-o", str(seq))
    assert r.returncode == 0, r.stderr
    found = {}
    for name, extra in (("ducked", []), ("loud", ["--gain-db", "6", "--duck-db", "0"])):
        scored = tmp_path / f"{name}.timeline.json"
        r = run_cli("music", str(seq), "--track", str(bed), *extra, "-o", str(scored))
        assert r.returncode == 0, r.stderr
        r = run_cli("check", str(scored), "--json")
        assert r.returncode == 0, r.stderr  # a warning never fails the check
        doc = json.loads(r.stdout)
        found[name] = next(c for c in doc["checks"] if c["name"] == "music_under_speech")
        assert doc["music_under_speech"]["spans"][0]["role"] == "voiceover"
        found[name]["min"] = doc["music_under_speech"]["min_difference_db"]
    assert not found["ducked"].get("warning") and found["ducked"]["min"] >= 10, found
    assert found["loud"].get("warning") and found["loud"]["min"] < 10 and "under 10 dB" in found["loud"]["detail"]
    r = run_cli("check", str(tmp_path / "loud.timeline.json"))
    assert r.returncode == 0 and "WARN  music_under_speech" in r.stderr, r.stderr
    # 12 dB of ducking, and the bed 12 dB up (from its default -6 dB to +6)
    assert found["ducked"]["min"] - found["loud"]["min"] == pytest.approx(24.0, abs=0.2)


def test_each_clip_keeps_its_own_level(talk: tuple[Timeline, Path], tmp_path: Path) -> None:
    tl, d = talk
    bed = write_audio(tmp_path / "bed.wav", click_bed(16.0))
    starts = [float(s) for s in tl.clip_starts()]
    # (clip, its source, a span of it in source seconds) and that span on the timeline
    parts = {"vox_Input_00010": (SPEAKERS[0], 0.3, 3.9, starts[0]), "vrt_1": (SPEAKERS[1], 0.3, 2.4, starts[2])}
    spans = {k: (a + at, b + at) for k, (_, a, b, at) in parts.items()}
    alone = {k: span_level(TALKING / name, a, b) for k, (name, a, b, _) in parts.items()}
    cases = (({"original_audio_db": -12, "clip_audio_db": {"vrt_1": "mute"}}, {"vox_Input_00010": -12, "vrt_1": None}),
             ({"original_audio_db": "mute", "clip_audio_db": {"vox_Input_00010": 0, "vrt_1": -6}},
              {"vox_Input_00010": 0, "vrt_1": -6}))
    for i, (levels, want) in enumerate(cases):
        t = apply_stage("music", tl, d, track=str(bed), duck_db=0, **levels)
        assert [c.id for c in t.video if c.audio_muted] == [k for k, v in want.items() if v is None] + (
            ["silent"] if levels["original_audio_db"] == "mute" else [])
        if want["vrt_1"] is None:
            assert clip_dialogue(t)[2] == []  # a muted clip's speech ducks nothing
        t.track("music").muted = True
        out = render(t, [(quick(), tmp_path / f"levels{i}.mp4")])[0]
        for clip, (a, b) in spans.items():
            got = span_level(out, a, b) - alone[clip]
            if want[clip] is None:
                assert got < -60, (clip, got)
            else:
                assert abs(got - want[clip]) < 1.0, (levels, clip, got)


def test_a_level_for_a_clip_that_is_not_there_is_bad_input(talk: tuple[Timeline, Path], tmp_path: Path) -> None:
    from tests.conftest import run_cli

    tl, d = talk
    seq = tmp_path / "talk.timeline.json"
    tl.save(seq)
    bed = write_audio(tmp_path / "bed.wav", click_bed(2.0))
    out = tmp_path / "scored.timeline.json"
    r = run_cli("music", str(seq), "--track", str(bed), "--clip-audio-db", "jacket=-6", "-o", str(out))
    assert r.returncode == 2 and not out.exists()
    assert r.stderr.strip() == ("error: music.clip_audio_db: no clip 'jacket' in the timeline "
                                "(clips: vox_Input_00010, silent, vrt_1)"), r.stderr
    r = run_cli("music", str(seq), "--track", str(bed), "--clip-audio-db", "vrt_1=loud", "-o", str(out))
    assert r.returncode == 2 and "--clip-audio-db" in r.stderr and "'mute'" in r.stderr and not out.exists(), r.stderr
    r = run_cli("music", str(seq), "--track", str(bed), "--clip-audio-db", "vrt_1=mute", "--duck-under", "voiceover",
                "-o", str(out))
    assert r.returncode == 0, r.stderr
    scored = Timeline.load(out)
    assert scored.track("music").duck.roles == ["voiceover"] and scored.video[2].audio_muted


@pytest.mark.skipif(not COMMENTARY.is_file(), reason=f"the spoken commentary is not at {COMMENTARY}")
def test_dialogue_narrator_and_music_export_on_target(scored: tuple[Timeline, Path], tmp_path: Path) -> None:
    """Real dialogue, the real commentary as the narrator over the silent shot and into the
    next talking one (which ducks under it), and the ducked bed: on both targets."""
    import pyloudnorm

    from tests.conftest import run_cli
    from tests.soundkit import tiny_presets, true_peak_db

    tl, _ = scored
    at = float(tl.clip_starts()[1]) + 0.2
    tl = apply_stage("voiceover", tl, tmp_path, audio=[{"file": str(COMMENTARY), "at": at}])
    assert tl.track("original").duck is not None  # the narrator crosses into vrt_1's talk
    tl.save(tmp_path / "mix.timeline.json")
    presets = tiny_presets(tmp_path / "presets")
    r = run_cli("export", str(tmp_path / "mix.timeline.json"), "-p", "tiny-14", "-p", "tiny-23",
                "-o", str(tmp_path / "out"), env={"REELFORGE_PRESETS": str(presets)})
    assert r.returncode == 0, r.stderr
    for name, target, ceiling in (("tiny-14", -14.0, -1.0), ("tiny-23", -23.0, -2.0)):
        out = tmp_path / "out" / f"mix.{name}.mp4"
        y = decode_audio(str(out), sample_rate=RATE, mono=False).astype(np.float64)
        lufs, peak = pyloudnorm.Meter(RATE).integrated_loudness(y), true_peak_db(y)
        assert abs(lufs - target) <= 0.5 and peak <= ceiling, (name, lufs, peak)
        vdur, adur = stream_durations(out)
        assert abs(adur - vdur) < Fraction(1024, RATE)  # the sound ends with the picture
