"""OpenTimelineIO interchange: a round trip keeps every cut to the frame."""

from __future__ import annotations

import json
from fractions import Fraction as F
from pathlib import Path

import opentimelineio as otio
import pytest

from pipeline.adapters.otio import read_otio, timeline_to_otio, write_otio
from pipeline.model.timeline import AudioItem, Marker, Transition
from pipeline.adapters.inputs import load_inputs
from tests.conftest import run_cli
from tests.media import frames_of, make_clip
from tests.pipekit import clips, tiny_preset


@pytest.fixture
def edit(tmp_path: Path):  # noqa: ANN201
    paths = [make_clip(tmp_path / f"n{i}.mp4", fps="30000/1001", duration=1.0, audio=True) for i in range(3)]
    odd = tmp_path / "it's [odd], 50% ü.mp4"
    paths[2].rename(odd)
    tl = load_inputs([paths[0], paths[1], odd])
    fps = F(30000, 1001)
    assert tl.canvas.fps == fps
    tl.video[0].in_point = 3 / fps
    tl.video[0].transition = Transition("fade", 10 / fps)  # 5 frames before the cut, 5 after
    tl.video[1].out_point = 29 / fps
    tl.video[1].transition = Transition("wipeleft", 7 / fps)  # odd frame count
    tl.track("music").items += [AudioItem(str(paths[1]), start=F(1, 2), out_point=F(1, 2), gain_db=-6, id="m1"),
                                AudioItem(str(paths[0]), start=F(3, 4), in_point=F(1, 10), out_point=F(1, 2))]
    tl.track("voiceover").items.append(AudioItem(str(paths[0]), start=F(1), out_point=F(1, 3), text="hello"))
    tl.markers += [Marker(F(1, 2), "beat", "b1"), Marker(F(17, 12), "cue", "drop")]
    tl.meta["name"] = "roundtrip"
    return tl


def test_round_trip_is_exact(edit, tmp_path: Path) -> None:  # noqa: ANN001
    path = write_otio(edit, tmp_path / "edit.otio")
    back = read_otio(path)
    assert back.to_dict() == edit.to_dict()
    assert back.cut_times() == edit.cut_times() and back.duration == edit.duration


def test_editor_view_is_frame_accurate(edit, tmp_path: Path) -> None:  # noqa: ANN001
    ot = timeline_to_otio(edit)
    video = ot.video_tracks()[0]
    rate = float(edit.canvas.fps)
    kinds = [type(c).__name__ for c in video]
    assert kinds == ["Clip", "Transition", "Clip", "Transition", "Clip"]
    # the track's clips abut at the cut (the transition's middle frame), on whole frames
    cuts = [video.range_of_child_at_index(i).start_time for i in (2, 4)]
    fps = edit.canvas.fps
    for cut, mid, tr in zip(cuts, edit.cut_times(), (edit.video[0].transition, edit.video[1].transition)):
        assert cut.rate == rate and cut.value == int(cut.value)
        assert abs(F(int(cut.value)) / fps - mid) <= F(1, 2) / fps
    t1, t2 = video[1], video[3]
    assert (t1.in_offset.value, t1.out_offset.value) == (5, 5)
    assert (t2.in_offset.value, t2.out_offset.value) == (3, 4)
    assert t1.transition_type == otio.schema.TransitionTypes.SMPTE_Dissolve
    assert video.duration().value == pytest.approx(float(edit.duration * fps))
    # The same frames counted from the sources themselves, not from the timeline model: each
    # source decodes to 30 frames; 27 + 29 + 30 frames less the 10- and 7-frame overlaps.
    assert [frames_of(Path(c.source)) for c in edit.video] == [30, 30, 30]
    assert video.duration().value == 27 + 29 + 30 - 10 - 7
    assert cuts[0].value == 27 - 5 and cuts[1].value in (17 + 29 - 4, 17 + 29 - 3)
    audio = ot.audio_tracks()
    assert [t.name for t in audio] == ["music", "music 2", "voiceover"]  # overlapping items get a lane
    markers = ot.tracks.markers
    assert [(m.name, m.marked_range.start_time.to_seconds()) for m in markers] == [("b1", 0.5), ("drop", pytest.approx(17 / 12))]
    # media references are file URLs that survive any file name
    refs = [c.media_reference.target_url for c in video.find_clips()]
    assert refs[2].startswith("file://") and "%" in refs[2]


def test_edit_without_reelforge_metadata(edit, tmp_path: Path) -> None:  # noqa: ANN001
    """What an editor sends back: no reelforge metadata; the cuts still land on the same frames."""
    ot = timeline_to_otio(edit)
    stack = [ot]
    while stack:
        obj = stack.pop()
        obj.metadata.pop("reelforge", None)
        if isinstance(obj, otio.schema.Timeline):
            stack += list(obj.tracks) + list(obj.tracks.markers)
        elif isinstance(obj, otio.schema.Track):
            stack += list(obj)
    path = tmp_path / "from-editor.otio"
    otio.adapters.write_to_file(ot, str(path))
    back = read_otio(path)
    fps = edit.canvas.fps
    assert back.canvas.fps == fps and (back.canvas.width, back.canvas.height) == (320, 180)
    assert [(c.in_point, c.out_point, c.transition) for c in back.video] == \
        [(c.in_point, c.out_point, c.transition) for c in edit.video]
    assert [round(t * fps) for t in back.cut_times()] == [round(t * fps) for t in edit.cut_times()]
    assert [(i.start, i.in_point, i.out_point) for i in back.audio["music"].items] == \
        [(i.start, i.in_point, i.out_point) for i in edit.audio["music"].items]


def test_cli_export_edit_and_otio_as_input(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tiny_preset(monkeypatch, tmp_path / "presets")
    a, b = clips(tmp_path, 2, 1.0)
    tl = load_inputs([a, b])
    tl.video[0].in_point = F(1, 3)  # 10 frames trimmed
    seq = tmp_path / "seq.timeline.json"
    tl.save(seq)
    out = tmp_path / "seq.otio"
    r = run_cli("export-edit", str(seq), "-o", str(out))
    assert r.returncode == 0, r.stderr
    assert json.loads(out.read_text())["OTIO_SCHEMA"].startswith("Timeline")
    r = run_cli("export-edit", str(seq), "-o", str(out))  # its own, unchanged: refreshed
    assert r.returncode == 0, r.stderr
    out.write_text(out.read_text().replace("Timeline", "Timeline", 1) + "\n")  # edited in an editor
    r = run_cli("export-edit", str(seq), "-o", str(out))
    assert r.returncode == 2 and "already exists" in r.stderr
    r = run_cli("export", str(out), "--preset", "tiny", "-o", str(tmp_path / "render"))
    assert r.returncode == 0, r.stderr
    assert frames_of(tmp_path / "render" / "seq.tiny.mp4") == 50
    bad = tmp_path / "bad.otio"
    bad.write_text("{not json")
    r = run_cli("export", str(bad), "--preset", "tiny", "-o", str(tmp_path / "render2"))
    assert r.returncode == 2 and str(bad) in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "render2").exists() or not any((tmp_path / "render2").iterdir())


def test_otio_in_a_pipeline_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pipeline.run.runner import run_file_results

    tiny_preset(monkeypatch, tmp_path / "presets")
    a, b = clips(tmp_path, 2, 1.0)
    tl = load_inputs([a, b])
    tl.video[1].out_point = F(1, 2)
    write_otio(tl, tmp_path / "cut.otio")
    spec = tmp_path / "p.yaml"
    spec.write_text("name: fromotio\ninputs: [cut.otio]\nsteps:\n  - export: {presets: [tiny], dir: out}\n")
    res = run_file_results(spec, quiet=True, live=False, summary=False)
    assert res[0].timeline.duration == F(3, 2)
    assert frames_of(tmp_path / "out" / "fromotio.tiny.mp4") == 45
