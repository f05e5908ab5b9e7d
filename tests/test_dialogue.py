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
from pipeline.render import render
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
def scored(tmp_path_factory: pytest.TempPathFactory) -> tuple[Timeline, Path]:
    """Talking head, silent clip, talking head, with a music bed ducked by default; rendered."""
    if not all((TALKING / n).is_file() for n in SPEAKERS):
        pytest.skip(f"real talking-head clips not found at {TALKING}")
    d = tmp_path_factory.mktemp("dialogue")
    silent = make_clip(d / "silent.mp4", duration=3.0)
    bed = write_audio(d / "bed.m4a", click_bed(16.0), codec=["-c:a", "aac", "-b:a", "192k"])
    tl = load_inputs([TALKING / SPEAKERS[0], silent, TALKING / SPEAKERS[1]])
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


def test_speech_spans_travel_with_the_timeline_and_old_files_still_load(scored: tuple[Timeline, Path],
                                                                         tmp_path: Path) -> None:
    tl, _ = scored
    back = Timeline.from_dict(tl.to_dict())
    assert [c.speech for c in back.video] == [c.speech for c in tl.video]
    assert back.track("music").duck == tl.track("music").duck
    # a file written before clips knew their speech, ducking under one role by name
    old = tl.to_dict()
    for clip in old["video"]:
        for key in ("speech", "audio_gain_db", "audio_muted"):
            clip.pop(key)
    old["audio"]["music"]["duck"]["under"] = "voiceover"
    loaded = Timeline.from_dict(old)
    assert all(c.speech is None for c in loaded.video) and loaded.track("music").duck.roles == ["voiceover"]
    bad = tl.to_dict()
    bad["audio"]["music"]["duck"]["under"] = ["voiceover", "applause"]
    with pytest.raises(Exception, match="duck.under: cannot duck under 'applause'"):
        Timeline.from_dict(bad)
