"""The Python API: Pipeline.from_file(...).run() and every stage callable on a Timeline."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest

from pipeline import Pipeline, Timeline, stages
from pipeline.run import api
from pipeline.run.api import stage
from pipeline.analysis.frames import frame_at
from pipeline.errors import InputError
from tests.media import frames_of
from tests.pipekit import clips, tiny_preset


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    tiny_preset(monkeypatch, tmp_path / "presets")
    clips(tmp_path, 2, 1.0)
    (tmp_path / "fx.py").write_text(textwrap.dedent("""
        import numpy as np

        def invert(frame):
            return 255 - frame

        def tint(frame, red=0.0):
            out = frame.astype(np.float32)
            out[..., 0] = np.clip(out[..., 0] + 255 * red, 0, 255)
            return out.astype(np.uint8)
        """))
    return tmp_path


def test_pipeline_from_file_run(project: Path) -> None:
    path = project / "spot.yaml"
    path.write_text(textwrap.dedent("""
        name: spot
        inputs: [clip1.mp4, clip2.mp4]
        steps:
          - effect: {clip: 2, function: fx.py:invert}
          - export: {presets: [tiny], dir: out}
        variants:
          a: {}
          b: {steps: {effect: {function: "fx.py:tint", args: {red: 0.5}}}}
        """))
    pipe = Pipeline.from_file(path)
    assert pipe.steps == ["effect", "export"]
    report = pipe.run()
    assert [o["path"] for o in report.outputs] == [str(project / "out" / "spot-a.tiny.mp4"),
                                                   str(project / "out" / "spot-b.tiny.mp4")]
    assert set(report.timelines) == {"spot-a", "spot-b"}
    assert isinstance(report.timeline, Timeline)
    for o in report.outputs:
        assert frames_of(Path(o["path"])) == 60
    # each variant's picture: clip 2 inverted in a, tinted red in b (measured in the files)
    src = frame_at(project / "clip2.mp4", 0.5, width=160).astype(int)
    a = frame_at(project / "out" / "spot-a.tiny.mp4", 1.5, width=160).astype(int)
    b = frame_at(project / "out" / "spot-b.tiny.mp4", 1.5, width=160).astype(int)
    assert np.abs(a - (255 - src)).mean() < 12
    tinted = src.copy()
    tinted[..., 0] = np.clip(tinted[..., 0] + 127, 0, 255)
    assert np.abs(b - tinted).mean() < 12 and np.abs(b - a).mean() > 40
    again = Pipeline.from_file(path, variants=["b"]).run()
    assert set(again.results[0].states.values()) == {"cached"}


def test_stage_callable_on_a_timeline(project: Path) -> None:
    tl = api.load(project / "clip1.mp4", project / "clip2.mp4")
    fx = stage("effect")(tl, clip=1, function="fx.py:invert", base_dir=project)
    assert fx is not tl and tl.video[0].source.endswith("clip1.mp4")
    assert fx.video[0].effect["function"] == "fx.py:invert"
    assert fx.video[0].duration == tl.video[0].duration
    before = frame_at(tl.video[0].source, 0.5, width=160).astype(int)
    after = frame_at(fx.video[0].source, 0.5, width=160).astype(int)
    assert np.abs((255 - before) - after).mean() < 6  # inverted (lossless intermediate, scaled)
    # attribute style, on the module and on `stages`; export renders the edited timeline
    stages.export(fx, presets=["tiny"], dir=str(project / "api-out"), name="fx")
    out = project / "api-out" / "fx.tiny.mp4"
    assert frames_of(out) == 60
    first = frame_at(out, 0.5, width=160).astype(int)
    assert np.abs(first - after).mean() < 12
    assert api.effect is not None and "export" in dir(stages)
    with pytest.raises(InputError, match=r"effect\.mode: unknown mode 'frames' \(did you mean 'frame'\?\)"):
        api.effect(tl, function="fx.py:invert", mode="frames")
    with pytest.raises(AttributeError, match="no stage 'stitchh'"):
        stages.stitchh  # noqa: B018


def test_effect_errors_are_clear(project: Path) -> None:
    tl = api.load(project / "clip1.mp4")
    with pytest.raises(InputError, match="out of range"):
        api.effect(tl, clip=3, function="fx.py:invert", base_dir=project)
    with pytest.raises(InputError, match="'nope' is not a function"):
        api.effect(tl, function="fx.py:nope", base_dir=project)
