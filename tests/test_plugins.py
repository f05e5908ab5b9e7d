"""Third-party stages: a plugin distribution registering through the entry-point group
'reelforge.stages' works in pipeline files, on the CLI, in the API and in the schema.

The new-style plugin is docs/plugins.md's example, read from the page itself: what the
documentation shows is what is tested. The old-style one still brings its own click
command."""

from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path

import re

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


DOCS = Path(__file__).resolve().parents[1] / "docs" / "plugins.md"


def documented(heading: str) -> str:
    """The code block under `### heading` in docs/plugins.md."""
    found = re.search(rf"^### {re.escape(heading)}\n+```\w*\n(.*?)^```", DOCS.read_text(), re.S | re.M)
    assert found, f"docs/plugins.md has no code block under '### {heading}'"
    return found.group(1)


def install(site: Path, package: str, code: str, entry_points: str) -> None:
    """A distribution as pip leaves it in site-packages: the module and its metadata."""
    (site / package).mkdir(parents=True)
    (site / package / "__init__.py").write_text(code)
    info = site / f"{package}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {package.replace('_', '-')}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(entry_points)


@pytest.fixture
def documented_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    import tomllib

    project = tomllib.loads(documented("pyproject.toml"))["project"]
    eps = project["entry-points"]["reelforge.stages"]
    install(tmp_path / "site", "rf_hold", documented("rf_hold/__init__.py"),
            "[reelforge.stages]\n" + "".join(f"{k} = {v}\n" for k, v in eps.items()))
    repo = Path(__file__).resolve().parents[1]
    tiny_preset(monkeypatch, tmp_path / "presets")
    return {"PYTHONPATH": os.pathsep.join([str(repo), str(tmp_path / "site"), os.environ.get("PYTHONPATH", "")])}


def test_documented_plugin_gets_a_generated_command(tmp_path: Path, documented_env: dict[str, str]) -> None:
    a, b = clips(tmp_path, 2, 1.0)
    r = run_cli("--help", env=documented_env)
    assert r.returncode == 0 and re.search(r"^  hold +Hold the end frame", r.stdout, re.M), r.stdout
    r = run_cli("hold", "--help", env=documented_env)
    assert r.returncode == 0, r.stderr
    assert "Example:\n    reelforge hold seq.timeline.json --seconds 1 -o held.timeline.json" in r.stdout
    assert re.search(r"-s, --seconds SECONDS +How long the frame is held\. +\[default: 0\.5\]", r.stdout), r.stdout
    assert re.search(r"--clip \[last\|first\] +Which clip's end frame is held\.", r.stdout), r.stdout
    assert "-o, --output FILE" in r.stdout and "-y, --overwrite" in r.stdout
    out = tmp_path / "held.timeline.json"
    r = run_cli("hold", str(a), str(b), "-s", "1.5", "--clip", "first", "-o", str(out), env=documented_env)
    assert r.returncode == 0, r.stderr
    doc = json.loads(out.read_text())
    assert [c["hold"] for c in doc["video"]] == ["3/2", "0"]
    r = run_cli("hold", str(a), "--seconds", "20", "-o", str(tmp_path / "x.timeline.json"), env=documented_env)
    assert r.returncode == 2 and r.stderr.strip() == "error: --seconds 20: must be at most 10"
    r = run_cli("hold", str(a), "--clip", "middle", "-o", str(tmp_path / "x.timeline.json"), env=documented_env)
    assert r.returncode == 2 and "--clip" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "x.timeline.json").exists()
    rendered = tmp_path / "held.mp4"  # a media output renders: 2 s of clips + 0.5 s held
    r = run_cli("hold", str(a), str(b), "-o", str(rendered), env=documented_env)
    assert r.returncode == 0, r.stderr
    assert frames_of(rendered) == 75


def test_documented_plugin_in_a_pipeline_file_the_api_and_the_schema(tmp_path: Path,
                                                                     documented_env: dict[str, str]) -> None:
    import subprocess
    import sys

    clips(tmp_path, 2, 1.0)
    spec = tmp_path / "held.yaml"
    spec.write_text("name: held\ninputs: [clip1.mp4, clip2.mp4]\nsteps:\n  - hold: {seconds: 1, clip: first}\n"
                    "  - export: {presets: [tiny], dir: out}\n")
    r = run_cli("run", str(spec), env=documented_env)
    assert r.returncode == 0, r.stderr
    assert frames_of(tmp_path / "out" / "held.tiny.mp4") == 90  # 2 s + 1 s held
    spec.write_text(spec.read_text().replace("{seconds: 1, clip: first}", "{seconds: 20}"))
    r = run_cli("run", str(spec), env=documented_env)
    assert r.returncode == 2 and r.stderr.strip() == f"error: {spec}:4: hold.seconds: must be at most 10 (got 20)"
    r = run_cli("schema", env=documented_env)
    params = json.loads(r.stdout)["$defs"]["hold.params"]["properties"]
    assert params["seconds"]["maximum"] == 10 and params["seconds"]["description"] == "How long the frame is held."
    assert params["clip"]["enum"] == ["last", "first"]
    code = ("from pipeline import stages\n"
            "from pipeline.stage import ParamsError\n"
            "tl = stages.hold(['clip1.mp4', 'clip2.mp4'], seconds=2)\n"
            "print(tl.video[-1].hold)\n"
            "try:\n    stages.hold(tl, seconds=20)\nexcept ParamsError as exc:\n    print(exc)\n")
    r = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True,
                       env={**os.environ, **documented_env})
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[-2:] == ["2", "hold.seconds: must be at most 10 (got 20)"]


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
