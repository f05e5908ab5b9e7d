"""Third-party stages: a plugin distribution registering through the entry-point group
'reelforge.stages' works in pipeline files, on the CLI and in the schema."""

from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.media import frames_of
from tests.pipekit import clips, tiny_preset

PLUGIN = '''
"""A third-party reelforge stage: hold the last frame of the sequence."""
from fractions import Fraction
from typing import ClassVar, Literal

import click
from pydantic import BaseModel, ConfigDict

from pipeline.cli.kit import handle_errors, inputs_argument, output_option


class HoldParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    seconds: float = 0.5
    where: Literal["end", "start"] = "end"


class HoldStage:
    """Freeze the last frame for a while."""
    name: ClassVar[str] = "holdlast"
    Params: ClassVar[type[BaseModel]] = HoldParams

    def apply(self, tl, params, ctx):
        tl = tl.copy()
        tl.video[-1].hold = Fraction(params.seconds).limit_denominator(1000)
        return tl


@click.command("holdlast")
@inputs_argument
@click.option("--seconds", type=float, default=0.5)
@output_option()
@handle_errors
def command(inputs, seconds, output, overwrite):
    """Hold the last frame.

    \\b
    Example:
      reelforge holdlast seq.timeline.json --seconds 1 -o held.timeline.json
    """
    from pipeline.cli.kit import run_stage_command
    run_stage_command("holdlast", inputs, {"seconds": seconds}, output, overwrite)
'''


@pytest.fixture
def plugin_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    site = tmp_path / "site"
    (site / "rf_holdlast").mkdir(parents=True)
    (site / "rf_holdlast" / "__init__.py").write_text(PLUGIN)
    info = site / "rf_holdlast-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: rf-holdlast\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[reelforge.stages]\nholdlast = rf_holdlast:HoldStage\n")
    repo = Path(__file__).resolve().parents[1]
    path = os.pathsep.join([str(repo), str(site), os.environ.get("PYTHONPATH", "")])
    tiny_preset(monkeypatch, tmp_path / "presets")
    return {"PYTHONPATH": path}


def test_plugin_stage_runs_from_a_file(tmp_path: Path, plugin_env: dict[str, str]) -> None:
    clips(tmp_path, 2, 1.0)
    spec = tmp_path / "held.yaml"
    spec.write_text(textwrap.dedent("""
        name: held
        inputs: [clip1.mp4, clip2.mp4]
        steps:
          - holdlast: {seconds: 0.5}
          - export: {presets: [tiny], dir: out}
        """))
    r = run_cli("run", str(spec), env=plugin_env)
    assert r.returncode == 0, r.stderr
    assert frames_of(tmp_path / "out" / "held.tiny.mp4") == 75  # 2 s + 0.5 s held
    r = run_cli("run", str(spec), env=plugin_env)
    assert "[1/2] holdlast: cached" in r.stderr
    spec.write_text(spec.read_text().replace("{seconds: 0.5}", "{seconds: 0.5, where: ending}"))
    r = run_cli("run", str(spec), env=plugin_env)
    assert r.returncode == 2
    assert r.stderr.strip() == f"error: {spec}:5: holdlast.where: unknown where 'ending' (did you mean 'end'?)"


def test_plugin_stage_on_the_cli_and_in_the_schema(tmp_path: Path, plugin_env: dict[str, str]) -> None:
    a, b = clips(tmp_path, 2, 1.0)
    r = run_cli("--help", env=plugin_env)
    assert r.returncode == 0 and "holdlast" in r.stdout
    out = tmp_path / "held.timeline.json"
    r = run_cli("holdlast", str(a), str(b), "--seconds", "1", "-o", str(out), env=plugin_env)
    assert r.returncode == 0, r.stderr
    doc = json.loads(out.read_text())
    assert doc["video"][-1]["hold"] == "1"
    r = run_cli("schema", env=plugin_env)
    schema = json.loads(r.stdout)
    assert schema["$defs"]["holdlast.params"]["properties"]["where"]["enum"] == ["end", "start"]
    # without the plugin installed the step is unknown, with the line named
    spec = tmp_path / "p.yaml"
    spec.write_text("inputs: [clip1.mp4]\nsteps:\n  - holdlast: {}\n")
    r = run_cli("run", str(spec))
    assert r.returncode == 2 and f"{spec}:3: unknown step 'holdlast'" in r.stderr
