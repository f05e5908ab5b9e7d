"""The one parameter validator: every front end gets the same verdict with a location it
renders in its own words (--option VALUE, file:line: stage.key, stage.key), and numbers a
user can type are kept in sane ranges (fps 1-240, gains within ±60 dB, bounded seconds)."""

from __future__ import annotations

import math
import textwrap
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, Optional

import pytest
from pydantic import BaseModel, ConfigDict, Field

from pipeline import stages
from pipeline.run.params import Option, ParamsError, validate
from tests.conftest import run_cli
from tests.media import make_clip


class Item(BaseModel):
    model_config = ConfigDict(extra="forbid")
    file: str
    at: Optional[float] = Field(default=None, ge=0)


class Sample(BaseModel):
    model_config = ConfigDict(extra="forbid")
    gain_db: Annotated[float, Option(help="Level.")] = Field(default=0.0, ge=-60, le=60)
    mode: Literal["fast", "slow"] = "fast"
    items: Annotated[list[Item], Option("--file", key="file", role="input"), Option("--at", key="at")] = Field(default_factory=list)
    tags: dict[str, Any] = Field(default_factory=dict)


def problem_of(raw: dict[str, Any]) -> ParamsError:
    with pytest.raises(ParamsError) as info:
        validate("sample", Sample, raw)
    return info.value


def test_errors_carry_their_location_and_render_per_front_end() -> None:
    err = problem_of({"gain_db": 1000})
    assert (err.loc, err.text) == (("gain_db",), "must be at most 60")
    assert str(err) == "sample.gain_db: must be at most 60 (got 1000)"
    assert err.at_option("--gain-db") == "--gain-db 1000: must be at most 60"
    err = problem_of({"items": [{"file": "a.wav"}, {"file": "b.wav", "at": -2.5}]})
    assert err.loc == ("items", 1, "at") and str(err) == "sample.items[1].at: must be at least 0 (got -2.5)"
    assert err.at_option("--at") == "--at -2.5: must be at least 0"
    err = problem_of({"mode": "fsat"})
    assert str(err) == "sample.mode: unknown mode 'fsat' (did you mean 'fast'?)"
    err = problem_of({"gian_db": 3})
    assert (err.loc, err.at) == ((), ("gian_db",)) and str(err) == "sample: unknown key 'gian_db' (did you mean 'gain_db'?)"
    err = problem_of({"tags": {"deep": [1.0, math.inf]}})
    assert str(err) == "sample.tags.deep[1]: must be a finite number"


def test_the_generated_command_names_the_option_typed(tmp_path: Path) -> None:
    """Generation rules on a model of every shape, through click's own runner."""
    from click.testing import CliRunner

    from pipeline.cli.stagecmd import build_command

    class SampleStage:
        """A sample."""
        name: ClassVar[str] = "sample"
        Params: ClassVar[type[BaseModel]] = Sample

        def apply(self, tl: Any, params: Any, ctx: Any) -> Any:
            raise AssertionError("not reached")

    cmd = build_command(SampleStage)
    help_text = CliRunner().invoke(cmd, ["--help"]).output
    assert "reelforge sample clip.mp4 -o out.timeline.json" in help_text  # the made-up example
    assert "--gain-db FLOAT" in help_text and "--mode [fast|slow]" in help_text and "--tags TEXT" in help_text
    a = make_clip(tmp_path / "a.mp4", duration=0.5)
    out = str(tmp_path / "o.timeline.json")
    cases = [(["--gain-db", "99"], "error: --gain-db 99: must be at most 60"),
             (["--file", "x.wav", "--at", "-1"], "error: --file x.wav: no such file"),
             (["--file", str(a), "--at", "-1"], "error: --at -1: must be at least 0"),
             (["--file", str(a), "--at", "1", "--at", "2"], "error: --at: more --at than --file options"),
             (["--tags", "novalue"], "error: --tags novalue: expected NAME=VALUE")]
    for args, says in cases:
        r = CliRunner().invoke(cmd, [str(a), *args, "-o", out])
        assert r.exit_code == 2 and r.output.strip() == says, (args, r.output)


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_clip(tmp_path_factory.mktemp("m") / "a.mp4", duration=1.0, audio=True)


@pytest.mark.parametrize("args, says", [
    (("stitch", "{a}", "--fps", "1/1000000", "-o", "{o}.mp4"), "--fps 1/1000000: must be between 1 and 240 frames per second"),
    (("stitch", "{a}", "--fps", "1000", "-o", "{o}.mp4"), "--fps 1000: must be between 1 and 240 frames per second"),
    (("stitch", "{a}", "{a}", "--transition", "fade:1e400", "-o", "{o}.mp4"),
     "--transition: transition 'fade:1e400' is longer than 60 s"),
    (("stitch", "{a}", "--trim-head", "1e300", "-o", "{o}.mp4"), "--trim-head 1e+300: must be at most 3600"),
    (("music", "{a}", "--track", "{a}", "--original-audio-db", "1e308", "-o", "{o}.mp4"),
     "--original-audio-db 1e308: must be between -60 and 60 dB (or 'mute')"),
    (("music", "{a}", "--track", "{a}", "--original-audio-db", "loud", "-o", "{o}.mp4"),
     "--original-audio-db loud: give a level in dB (e.g. -18) or 'mute'"),
    (("music", "{a}", "--track", "{a}", "--fade-out", "1e308", "-o", "{o}.mp4"), "--fade-out 1e+308: must be at most 3600"),
    (("export", "{a}", "-p", "master", "--thumbnail-at", "1e9", "-o", "{o}"),
     "--thumbnail-at 1e+09: a cover time must be zero or more seconds (and within the edit)"),
])
def test_absurd_numbers_are_bad_input_naming_the_option(clip: Path, tmp_path: Path, args: tuple[str, ...],
                                                        says: str) -> None:
    out = tmp_path / "out"
    r = run_cli(*(a.format(a=clip, o=out) for a in args))
    assert r.returncode == 2 and r.stderr.strip() == f"error: {says}", r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # nothing written, not even a 261-byte MP4


def test_absurd_numbers_in_a_pipeline_file_and_the_api(clip: Path, tmp_path: Path) -> None:
    spec = tmp_path / "p.yaml"
    cases = [("stitch: {fps: 1/1000000}", 4, "stitch.fps: must be between 1 and 240 frames per second"),
             ('stitch: {transition: "fade:1e400"}', 4, "stitch.transition: transition 'fade:1e400' is longer than 60 s"),
             (f"music: {{track: {clip.name}, original_audio_db: 1e308}}", 4,
              "music.original_audio_db: must be between -60 and 60 dB (or 'mute')"),
             ("music: {track: a.mp4, gain_db: .inf}", 4, "music.gain_db: must be a finite number")]
    for step, line, says in cases:
        spec.write_text(textwrap.dedent(f"""
            inputs: ["{clip}"]
            steps:
              - {step}
            """).replace("track: a.mp4", f"track: {clip}"))
        r = run_cli("run", str(spec))
        assert r.returncode == 2 and r.stderr.strip() == f"error: {spec}:{line}: {says}", r.stderr
    spec.write_text(f'inputs: ["{clip}"]\ncanvas: {{width: 320, height: 180, fps: 1/1000000}}\nsteps: [stitch]\n')
    r = run_cli("run", str(spec))
    assert r.returncode == 2 and r.stderr.strip() == (
        f"error: {spec}:2: canvas.fps: must be between 1 and 240 frames per second, got '1/1000000'")
    with pytest.raises(ParamsError, match=r"^stitch\.fps: must be between 1 and 240 frames per second$"):
        stages.stitch(str(clip), fps="1/1000000")
    with pytest.raises(ParamsError, match=r"^music\.original_audio_db: must be between -60 and 60 dB"):
        stages.music(str(clip), track=str(clip), original_audio_db=1e308)
