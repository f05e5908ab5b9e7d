import json
from fractions import Fraction
from pathlib import Path

import pytest

from pipeline.errors import InputError
from pipeline.model.timeline import AudioItem, Clip, Ducking, Marker, Timeline, Transition, Word
from pipeline.adapters.inputs import load_inputs
from pipeline.model.clips import timeline_from_media
from tests.media import make_clip


@pytest.fixture
def two_clips(tmp_path: Path) -> list[Path]:
    return [make_clip(tmp_path / "a.mp4", fps="30000/1001", duration=2.0, audio=True),
            make_clip(tmp_path / "b.mp4", fps="24", duration=1.5)]


def test_json_round_trip_is_exact(tmp_path: Path, two_clips: list[Path]) -> None:
    tl = timeline_from_media(two_clips)
    tl.video[0].transition = Transition("fade", Fraction(1, 3))
    tl.video[1].in_point = Fraction(1001, 30000)
    tl.track("voiceover").items.append(AudioItem(source="vo.wav", start=Fraction(1, 7), out_point=Fraction(2),
                                                 words=[Word("hello", Fraction(1, 7), Fraction(3, 7))]))
    tl.track("music").duck = Ducking()
    tl.markers.append(Marker(Fraction(5, 3), "beat"))
    path = tl.save(tmp_path / "x.timeline.json")
    back = Timeline.load(path)
    assert back == tl
    assert back.canvas.fps == Fraction(30000, 1001)
    assert back.video[0].transition.duration == Fraction(1, 3)
    data = json.loads(path.read_text())
    assert data["version"] == 1 and data["video"][1]["in_point"] == "1001/30000"


def test_duration_subtracts_transitions(two_clips: list[Path]) -> None:
    from tests.media import stream_durations

    tl = timeline_from_media(two_clips)
    plain = tl.duration
    # the cut's length is the sources' decoded lengths: 60 frames at 30000/1001 and 1.5 s
    lengths = [stream_durations(p)[0] for p in two_clips]
    assert lengths == [Fraction(2002, 1000), Fraction(3, 2)] and plain == sum(lengths)
    tl.video[0].transition = Transition("fade", Fraction(1, 2))
    assert tl.duration == plain - Fraction(1, 2)
    assert tl.clip_starts()[1] == tl.video[0].duration - Fraction(1, 2)


def test_validation_errors(tmp_path: Path, two_clips: list[Path]) -> None:
    tl = timeline_from_media(two_clips)
    bad = tl.copy()
    bad.video[1].out_point = Fraction(9)
    with pytest.raises(InputError, match="past the end of the source"):
        bad.validate()
    bad = tl.copy()
    bad.video[0].transition = Transition("fade", Fraction(3))
    with pytest.raises(InputError, match="shorter than both clips"):
        bad.validate()
    bad = tl.copy()
    bad.video[0].in_point = Fraction(3)
    with pytest.raises(InputError, match="out point must be after in point"):
        bad.validate()
    # a tampered file names itself
    data = tl.to_dict()
    data["video"][0]["out_point"] = "100"
    p = tmp_path / "bad.timeline.json"
    p.write_text(json.dumps(data))
    with pytest.raises(InputError, match="bad.timeline.json"):
        Timeline.load(p)
    data = tl.to_dict()
    data["version"] = 99
    p.write_text(json.dumps(data))
    with pytest.raises(InputError, match="version 99"):
        Timeline.load(p)


def test_load_inputs_mixes_media_and_timelines(tmp_path: Path, two_clips: list[Path]) -> None:
    first = timeline_from_media(two_clips[:1]).save(tmp_path / "one.timeline.json")
    tl = load_inputs([first, two_clips[1]])
    assert [Path(c.source).name for c in tl.video] == ["a.mp4", "b.mp4"]
    assert tl.canvas.fps == Fraction(30000, 1001)
    assert isinstance(tl.video[0], Clip)


def test_an_edit_whose_source_was_deleted_is_bad_input_for_every_command(tmp_path: Path) -> None:
    from tests.conftest import run_cli

    gone = make_clip(tmp_path / "gone [1].mp4", duration=1.0, audio=True)
    kept = make_clip(tmp_path / "kept.mp4", duration=1.0, audio=True)
    seq = tmp_path / "seq.timeline.json"
    assert run_cli("stitch", str(kept), str(gone), "-o", str(seq)).returncode == 0
    gone.unlink()
    with pytest.raises(InputError, match=r"gone \[1\]\.mp4 no longer exists"):
        load_inputs([seq])
    out = tmp_path / "out"
    for args in (("export", str(seq), "-p", "web-preview", "-o", str(out)),
                 ("reframe", str(seq), "--aspect", "1:1", "-o", str(out / "r.mp4")),
                 ("music", str(seq), "--track", str(kept), "-o", str(out / "m.timeline.json"))):
        r = run_cli(*args)
        assert r.returncode == 2, (args, r.stderr)
        assert r.stderr.strip().splitlines() == [f"error: {seq}: its source {gone} no longer exists"], r.stderr
    assert not out.exists()


def test_a_canvas_larger_than_any_encoder_takes_is_bad_input(tmp_path: Path) -> None:
    from tests.conftest import run_cli
    from tests.media import write_preset

    clip = make_clip(tmp_path / "a.mp4", duration=0.5)
    r = run_cli("stitch", str(clip), "--size", "100000x100000", "-o", str(tmp_path / "big.timeline.json"))
    assert r.returncode == 2 and r.stderr.strip() == "error: --size 100000x100000: too large (at most 8192 px a side)"
    tl = timeline_from_media([clip])
    tl.canvas.width = 20000
    with pytest.raises(InputError, match="too large"):
        tl.validate()
    write_preset(tmp_path / "presets", "huge", width=20000, height=10000)
    r = run_cli("export", str(clip), "-p", "huge", "-o", str(tmp_path / "out"), env={"REELFORGE_PRESETS": str(tmp_path / "presets")})
    assert r.returncode == 2 and "huge.toml" in r.stderr and "8192" in r.stderr and not (tmp_path / "out").exists()
    assert not (tmp_path / "big.timeline.json").exists()
