"""Pipeline files: every broken file gets one error naming file:line and the key."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from pipeline.errors import InputError
from pipeline.run.spec import load_spec, load_specs
from tests.conftest import run_cli
from tests.pipekit import test_stages  # noqa: F401 - fixture


def write(folder: Path, text: str, name: str = "promo.yaml") -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return path


def error_of(path: Path, **kw) -> str:  # noqa: ANN003
    with pytest.raises(InputError) as info:
        load_spec(path, **kw)
    return str(info.value)


@pytest.fixture
def media(tmp_path: Path) -> Path:
    (tmp_path / "a.mp4").write_bytes(b"not really media; specs only check existence")
    return tmp_path


def test_valid_file_with_vars(media: Path, test_stages) -> None:  # noqa: ANN001, F811
    path = write(media, """
        name: promo-${tag}
        vars:
          tag: spring
          cut: 1.5
          kind: fade
        inputs: [a.mp4]
        steps:
          - trimlast: {seconds: "${cut}", transition: "${kind}"}
            id: short
          - export: {presets: [youtube-shorts], dir: "out/${tag}"}
        """)
    spec = load_spec(path)
    assert spec.name == "promo-spring"
    assert [s.label for s in spec.steps] == ["short", "export"]
    assert spec.steps[0].model.seconds == 1.5 and spec.steps[0].model.transition == "fade"
    assert spec.steps[1].model.dir == "out/spring"
    assert spec.steps[0].line == 8 and spec.steps[1].line == 10
    over = load_spec(path, variables={"cut": 0.5})
    assert over.steps[0].model.seconds == 0.5


def test_bad_value_suggests_nearest(media: Path, test_stages) -> None:  # noqa: ANN001, F811
    path = write(media, """
        name: promo
        inputs: [a.mp4]
        steps:
          - trimlast:
              seconds: 2
              transition: fadee
          - export: {presets: [youtube-shorts]}
        """)
    assert error_of(path) == f"{path}:6: trimlast.transition: unknown transition 'fadee' (did you mean 'fade'?)"


def test_wrong_key(media: Path) -> None:
    path = write(media, """
        inputs: [a.mp4]
        steps:
          - export:
              presets: [tiktok]
              dri: out
        """)
    assert error_of(path) == f"{path}:5: export: unknown key 'dri' (did you mean 'dir'?)"
    path = write(media, """
        inptus: [a.mp4]
        steps: []
        """)
    assert error_of(path) == f"{path}:1: unknown key 'inptus' (did you mean 'inputs'?)"


def test_wrong_type(media: Path, test_stages) -> None:  # noqa: ANN001, F811
    path = write(media, """
        inputs: [a.mp4]
        steps:
          - trimlast:
              seconds: three
        """)
    assert error_of(path) == f"{path}:4: trimlast.seconds: expected a number, got 'three'"
    path = write(media, """
        shots:
          - id: a
            prompt: a kite
            duration: [4]
        """)
    assert error_of(path) == f"{path}:4: shots[0].duration: expected a number, got [4]"


def test_unknown_step(media: Path) -> None:
    path = write(media, """
        inputs: [a.mp4]
        steps:
          - export: {presets: [tiktok]}
          - exprot: {presets: [tiktok]}
        """)
    assert error_of(path) == f"{path}:4: unknown step 'exprot' (did you mean 'export'?)"


def test_missing_media(media: Path, test_stages) -> None:  # noqa: ANN001, F811
    path = write(media, """
        inputs:
          - a.mp4
          - b.mp4
        steps: []
        """)
    assert error_of(path) == f"{path}:3: inputs[1]: no such file 'b.mp4'"
    path = write(media, """
        inputs: [a.mp4]
        steps:
          - bed:
              gain_db: -6
              track: music/bed.wav
        """)
    assert error_of(path) == f"{path}:5: bed.track: no such file 'music/bed.wav'"
    path = write(media, """
        shots:
          - id: a
            prompt: a kite
            image: start frame.png
        """)
    assert error_of(path) == f"{path}:4: shots[0].image: no such file 'start frame.png'"


def test_bad_preset_missing_key_and_unknown_variable(media: Path) -> None:
    path = write(media, """
        inputs: [a.mp4]
        steps:
          - export: {presets: [tiktok, youtub-shorts]}
        """)
    assert error_of(path) == f"{path}:3: export.presets: unknown preset 'youtub-shorts' (did you mean 'youtube-shorts'?)"
    path = write(media, """
        inputs: [a.mp4]
        steps:
          - export:
              dir: out
        """)
    assert error_of(path) == f"{path}:3: export: missing required key 'presets'"
    path = write(media, """
        vars: {preset: tiktok}
        inputs: [a.mp4]
        steps:
          - export:
              presets: ["${presset}"]
        """)
    assert error_of(path) == f"{path}:5: export.presets[0]: unknown variable '${{presset}}' (did you mean 'preset'?)"


def test_variants_override_vars_and_steps(media: Path, test_stages) -> None:  # noqa: ANN001, F811
    path = write(media, """
        name: ad
        vars: {cut: 1}
        inputs: [a.mp4]
        steps:
          - trimlast: {seconds: "${cut}"}
          - export: {presets: [tiktok]}
        variants:
          a: {}
          b:
            vars: {cut: 0.5}
            steps:
              export: {presets: [youtube-shorts]}
          c:
            suffix: "_v3"
            steps:
              trimlast: {transition: wipe}
        """)
    with pytest.raises(InputError) as info:
        load_specs(path)
    assert str(info.value) == f"{path}:16: trimlast.transition: unknown transition 'wipe' (did you mean 'wipeleft'?)"
    a, b = load_specs(path, ["a", "b"])
    assert (a.name, b.name) == ("ad-a", "ad-b")
    assert a.steps[0].model.seconds == 1 and b.steps[0].model.seconds == 0.5
    assert a.steps[1].model.presets == ["tiktok"] and b.steps[1].model.presets == ["youtube-shorts"]
    with pytest.raises(InputError, match="unknown variant 'd'"):
        load_specs(path, ["d"])


def test_invalid_yaml_names_line(tmp_path: Path) -> None:
    path = write(tmp_path, "steps:\n  - export: {presets: [tiktok]\n")
    assert error_of(path).startswith(f"{path}:3: invalid YAML")


def test_cli_exit_2_one_line(tmp_path: Path) -> None:
    path = write(tmp_path, """
        name: promo
        steps:
          - export: {presets: [tiktokk]}
        """)
    r = run_cli("run", str(path))
    assert r.returncode == 2
    assert r.stderr.strip() == f"error: {path}:3: export.presets: unknown preset 'tiktokk' (did you mean 'tiktok'?)"
    assert "Traceback" not in r.stderr and r.stdout == ""


def test_schema_covers_every_stage() -> None:
    r = run_cli("schema")
    assert r.returncode == 0, r.stderr
    schema = json.loads(r.stdout)
    kinds = {k["title"]: k for k in schema["properties"]["steps"]["items"]["oneOf"] if "title" in k}
    assert {"export", "effect", "generate"} <= set(kinds)
    export = schema["$defs"]["export.params"]
    assert export["required"] == ["presets"] and export["additionalProperties"] is False
    effect = schema["$defs"]["effect.params"]
    assert set(effect["properties"]["mode"]["enum"]) == {"frame", "time"}
    shot_ref = schema["properties"]["shots"]["items"]["$ref"].split("/")[-1]
    assert "prompt" in schema["$defs"][shot_ref]["properties"]
    assert set(schema["properties"]) >= {"vars", "variants", "inputs", "shots", "steps"}
