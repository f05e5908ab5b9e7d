"""Hostile input, through the command line and through pipeline files: nothing a user owns
is lost, no name escapes its folder, no file is a bomb, an edited timeline is checked as
strictly as a built one. Every refusal is exit 2 with one line naming the file or key.

The last part runs every command over real third-party media (../shared/media/corpus):
each must succeed or refuse in one line, never fail inside."""

from __future__ import annotations

import json
import os
import re
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from pipeline.errors import InputError
from tests.conftest import run_cli
from tests.media import frames_of, make_clip, write_preset

CORPUS = Path(os.environ.get("REELFORGE_TEST_MEDIA", Path(__file__).resolve().parents[1].parent / "shared" / "media")) / "corpus"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    write_preset(tmp_path / "presets", "tiny", crf=35, audio_bitrate="64k", loudness_lufs=-16.0)
    make_clip(tmp_path / "clip.mp4", duration=1.0, audio=True, tone=440)
    make_clip(tmp_path / "clip2.mp4", duration=1.0, audio=True, tone=660)
    return tmp_path


@dataclass
class Ran:
    returncode: int
    stdout: str
    stderr: str


def invoke(*args: str, env: dict[str, str] | None = None, timeout: float = 0) -> Ran:  # noqa: ARG001
    """The CLI in this process (no interpreter start-up per call); an exception that escapes
    the command's error handling shows as a traceback, as a user would see it."""
    import traceback

    from click.testing import CliRunner

    from pipeline.cli.main import cli

    r = CliRunner().invoke(cli, list(args), env=env)
    stderr = r.stderr
    if r.exception is not None and not isinstance(r.exception, SystemExit):
        stderr += "Traceback:\n" + "".join(traceback.format_exception(r.exception))
    return Ran(r.exit_code, r.stdout, stderr)


def env(project: Path) -> dict[str, str]:
    return {"REELFORGE_PRESETS": str(project / "presets")}


def write(folder: Path, text: str, name: str = "p.yaml") -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return path


PROGRESS = re.compile(r"^(\S.* \(dry run\)|\S+): \d+ step\(s\)$|^\[\d+/\d+\] .*: (running|cached|done|skipped.*)$|^  \S+: \{")


def refused(r, *words: str) -> None:  # noqa: ANN001
    """Exit 2 and one line on stderr (besides the progress of steps that ran) naming what
    is at fault; nothing else, no summary of a run that did not happen."""
    lines = [ln for ln in r.stderr.strip().splitlines() if not PROGRESS.match(ln)]
    assert r.returncode == 2, r.stderr
    assert len(lines) == 1 and lines[0].startswith("error: "), r.stderr
    assert "Traceback" not in r.stderr and "internal error" not in r.stderr
    for w in words:
        assert w in lines[0], (w, lines[0])


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


# ---- 1. files a pipeline writes go through the output policy ---------------------------
@pytest.mark.parametrize("step, key", [
    ("check: {report: clip.mp4, warn: true}", "check.report"),
    ('reframe: {aspect: "1:1", mode: center, path_out: clip.mp4}', "reframe.path_out"),
    ('reframe: {aspect: "1:1", mode: center, preview: clip.mp4}', "reframe.preview"),
    ("export: {presets: [tiny], dir: ., name: clip}", "export"),
])
def test_policy_a_step_never_writes_over_the_input(project: Path, step: str, key: str) -> None:
    source = "clip.mp4"
    if key == "export":  # an input named as export names its output
        source = "clip.tiny.mp4"
        (project / source).write_bytes((project / "clip.mp4").read_bytes())
    path = write(project, f"""
        inputs: [{source}]
        steps:
          - {step}
        """)
    before = snapshot(project)
    for extra in ((), ("--overwrite",)):  # not even with --overwrite
        r = invoke("run", str(path), *extra, env=env(project))
        refused(r, "p.yaml:3")
        if key != "export":
            assert key in r.stderr and "is also an input" in r.stderr
    assert snapshot(project) == before


@pytest.mark.parametrize("step, target", [
    ('reframe: {aspect: "1:1", mode: center, path_out: mine.html}', "mine.html"),
    ('reframe: {aspect: "1:1", mode: center, preview: up.mp4}', "up.mp4"),
    ("check: {report: notes.txt, warn: true}", "notes.txt"),
    ("export: {presets: [tiny], dir: ., name: mine}", "mine.tiny.mp4"),
])
def test_policy_a_users_file_needs_overwrite(project: Path, step: str, target: str) -> None:
    (project / target).write_bytes(b"the user's own file\n")
    path = write(project, f"""
        inputs: [clip.mp4]
        steps:
          - {step}
        """)
    r = invoke("run", str(path), env=env(project))
    refused(r, target, "already exists", "--overwrite")
    assert (project / target).read_bytes() == b"the user's own file\n"
    r = invoke("run", str(path), "--overwrite", env=env(project))
    assert r.returncode == 0, r.stderr
    assert (project / target).read_bytes() != b"the user's own file\n"


def test_policy_the_pipeline_file_itself_is_read(project: Path) -> None:
    path = write(project, """
        inputs: [clip.mp4]
        steps:
          - check: {report: p.yaml, warn: true}
        """)
    text = path.read_text()
    refused(invoke("run", str(path), "--overwrite", env=env(project)), "check.report", "is also an input")
    assert path.read_text() == text


def test_policy_own_outputs_are_refreshed_and_nothing_is_written_before_a_refusal(project: Path) -> None:
    path = write(project, """
        inputs: [clip.mp4]
        steps:
          - reframe: {aspect: "1:1", mode: center, path_out: path.json}
          - check: {report: report.html, warn: true}
        """)
    assert invoke("run", str(path), env=env(project)).returncode == 0
    assert invoke("run", str(path), "--force", "all", env=env(project)).returncode == 0  # its own files
    assert json.loads((project / "path.json").read_text())
    # A preview, then an export whose output is the user's: refused before the preview exists.
    (project / "out").mkdir()
    (project / "out" / "p.tiny.mp4").write_bytes(b"mine")
    path = write(project, """
        inputs: [clip.mp4]
        steps:
          - reframe: {aspect: "1:1", mode: center, preview: preview.mp4}
          - export: {presets: [tiny], dir: out}
        """)
    refused(invoke("run", str(path), env=env(project)), "p.tiny.mp4", "already exists")
    assert not (project / "preview.mp4").exists()
    assert (project / "out" / "p.tiny.mp4").read_bytes() == b"mine"


def test_policy_two_steps_writing_one_file(project: Path) -> None:
    path = write(project, """
        inputs: [clip.mp4]
        steps:
          - reframe: {aspect: "1:1", mode: center, path_out: same.json}
          - check: {report: same.json, warn: true}
        """)
    refused(invoke("run", str(path), env=env(project)), "p.yaml:4", "check.report", "also written by")
    assert not (project / "same.json").exists()


def test_policy_through_the_python_api(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pipeline.run.api import Pipeline

    monkeypatch.setenv("REELFORGE_PRESETS", str(project / "presets"))
    before = (project / "clip.mp4").read_bytes()
    path = write(project, """
        inputs: [clip.mp4]
        steps:
          - check: {report: clip.mp4, warn: true}
        """)
    with pytest.raises(InputError, match="is also an input"):
        Pipeline.from_file(path).run()
    assert (project / "clip.mp4").read_bytes() == before


# ---- 2. schema -o ----------------------------------------------------------------------
def test_schema_output_policy(tmp_path: Path) -> None:
    out = tmp_path / "mine.json"
    out.write_text("mine")
    refused(invoke("schema", "-o", str(out)), "mine.json", "already exists")
    assert out.read_text() == "mine"
    assert invoke("schema", "-o", str(out), "--overwrite").returncode == 0
    assert json.loads(out.read_text())["title"] == "reelforge pipeline file"
    assert invoke("schema", "-o", str(out)).returncode == 0  # its own output is refreshed


# ---- 3. YAML bombs -----------------------------------------------------------------------
def alias_bomb(levels: int) -> str:
    lines = ["vars:", "  a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for i in range(1, levels + 1):
        lines.append(f"  a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]")
    return "\n".join(lines + ["steps: []"]) + "\n"


@pytest.mark.parametrize("name, text", [
    ("bomb8.yaml", alias_bomb(8)),
    ("bomb9.yaml", alias_bomb(9)),
    ("deep.yaml", "vars: {x: " + "[" * 100_000 + "]" * 100_000 + "}\nsteps: []\n"),
    ("deep-block.yaml", "vars:\n" + "".join("  " * (i + 1) + f"k{i}:\n" for i in range(200)) + "steps: []\n"),
    ("huge.yaml", "vars:\n" + "".join(f"  v{i}: {'x' * 60}\n" for i in range(40_000)) + "steps: []\n"),
])
def test_yaml_bombs_refused_quickly(tmp_path: Path, name: str, text: str) -> None:
    from pipeline.run.spec import load_spec

    path = tmp_path / name
    path.write_text(text)
    t0 = time.perf_counter()
    with pytest.raises(InputError, match=name):
        load_spec(path)
    assert time.perf_counter() - t0 < 1.0
    refused(invoke("run", str(path), "--dry-run"), name)


def test_yaml_bomb_through_the_command_line(tmp_path: Path) -> None:
    path = tmp_path / "bomb.yaml"
    path.write_text(alias_bomb(9))
    r = run_cli("-q", "run", str(path), "--dry-run", timeout=20)
    assert r.returncode == 2 and r.stderr.splitlines() == [r.stderr.strip()] and "bomb.yaml" in r.stderr


def test_yaml_aliases_that_stay_small_still_work(tmp_path: Path) -> None:
    from pipeline.run.spec import load_spec

    path = write(tmp_path, """
        vars:
          base: &base {presets: [tiktok]}
        steps:
          - export: *base
        """)
    assert load_spec(path).steps[0].model.presets == ["tiktok"]


# ---- 10. edited timelines are validated ---------------------------------------------------
def edited(project: Path, change) -> Path:  # noqa: ANN001
    base = project / "base.timeline.json"
    if not base.exists():
        assert invoke("stitch", str(project / "clip.mp4"), str(project / "clip2.mp4"), "-t", "fade:0.4",
                       "-o", str(base)).returncode == 0
    doc = json.loads(base.read_text())
    change(doc)
    path = project / "edited.timeline.json"
    path.write_text(json.dumps(doc))
    return path


def _set(*keys, value):  # noqa: ANN001, ANN002, ANN202
    def change(doc: dict) -> None:
        node = doc
        for k in keys[:-1]:
            node = node[k]
        node[keys[-1]] = value
    return change


EDITS = {
    "filter-injection": (_set("video", 0, "transition", "kind", value="fade:offset=0[x];[x]drawbox"), "transition"),
    "unknown-xfade": (_set("video", 0, "transition", "kind", value="nosuchxfade"), "nosuchxfade"),
    "endless-hold": (_set("video", 1, "hold", value="100000"), "hold"),
    "not-media": (_set("video", 0, "source", value="/etc/passwd"), "/etc/passwd"),
    "audio-as-picture": (_set("video", 0, "source", value="@audio"), "no video stream"),
    "huge-gain": (_set("audio", value={"original": {"role": "original", "gain_db": 1e308}}), "gain_db"),
    "zero-fps": (_set("canvas", "fps", value="1/1000000"), "fps"),
    "odd-sample-rate": (_set("canvas", "sample_rate", value=7), "sample_rate"),
    "unknown-colour": (_set("video", 0, "color", value={"hue": 2}), "color.hue"),
    "unknown-track": (_set("audio", "laughs", value={"role": "laughs", "items": []}), "laughs"),
    "infinite-time": (_set("video", 0, "out_point", value="1e400"), "out"),
    "wrong-shape": (_set("audio", value=[]), "invalid timeline"),
}


@pytest.mark.parametrize("case", sorted(EDITS))
def test_edited_timeline_refused(project: Path, case: str) -> None:
    change, word = EDITS[case]
    audio = project / "tone.m4a"
    if case == "audio-as-picture":
        from tests.media import ffmpeg

        ffmpeg("-f", "lavfi", "-i", "sine=d=2", "-c:a", "aac", str(audio))
        change = _set("video", 0, "source", value=str(audio))
    path = edited(project, change)
    r = invoke("export", str(path), "-p", "tiny", "-o", str(project / "out"), env=env(project))
    refused(r, "edited.timeline.json", word)
    assert not (project / "out").exists() or not list((project / "out").iterdir())
    # The same file as a pipeline's input.
    spec = write(project, """
        inputs: [edited.timeline.json]
        steps:
          - export: {presets: [tiny], dir: out}
        """)
    refused(invoke("run", str(spec), "--dry-run", env=env(project)), word)


def test_edited_timeline_deep_json(project: Path) -> None:
    path = project / "deep.timeline.json"
    path.write_text('{"schema": "reelforge.timeline", "version": 1, "meta": ' + "[" * 100_000 + "]" * 100_000 + "}")
    refused(invoke("export", str(path), "-p", "tiny", "-o", str(project / "out"), env=env(project)),
            "deep.timeline.json")


def test_edited_timeline_unchanged_still_loads(project: Path) -> None:
    path = edited(project, lambda doc: None)
    r = invoke("export", str(path), "-p", "tiny", "-o", str(project / "out"), env=env(project))
    assert r.returncode == 0, r.stderr
    assert frames_of(project / "out" / "edited.tiny.mp4") == 48  # 1 s + 1 s at 30 fps, less 0.4 s of fade


# ---- 13. run's errors ----------------------------------------------------------------------
LONG_FADE = """
    inputs: [clip.mp4, clip2.mp4]
    steps:
      - stitch: {transition: "fade:30"}
      - export: {presets: [tiny], dir: out}
    """


def test_run_dry_run_validates_what_the_run_validates(project: Path) -> None:
    path = write(project, LONG_FADE)
    dry = invoke("run", str(path), "--dry-run", env=env(project))
    real = invoke("run", str(path), env=env(project))
    refused(dry, "p.yaml:3", "stitch", "shorter than")
    refused(real, "p.yaml:3", "stitch", "shorter than")
    assert dry.stderr.splitlines()[-1] == real.stderr.splitlines()[-1]
    assert not (project / "out").exists()


def test_run_bad_input_is_one_line_after_the_progress(project: Path) -> None:
    path = write(project, LONG_FADE)
    r = run_cli("run", str(path), env=env(project))
    assert r.returncode == 2
    errors = [ln for ln in r.stderr.splitlines() if not ln.startswith(("p: ", "[1/2]"))]
    assert errors == [ln for ln in r.stderr.splitlines() if ln.startswith("error: ")] and len(errors) == 1, r.stderr
    assert "summary" not in r.stderr
    quiet = run_cli("-q", "run", str(path), env=env(project))
    assert quiet.returncode == 2 and quiet.stderr.splitlines() == errors


def test_run_json_on_failure_is_one_document(project: Path) -> None:
    path = write(project, LONG_FADE)
    r = run_cli("run", str(path), "--json", env=env(project))
    assert r.returncode == 2
    doc = json.loads(r.stdout)
    assert doc["exit_code"] == 2 and "shorter than" in doc["error"] and "p.yaml:3" in doc["error"]
    r = invoke("run", str(project / "missing.yaml"), "--json")
    assert r.returncode == 2 and "missing.yaml" in json.loads(r.stdout)["error"]


# ---- 14. names are file names -------------------------------------------------------------
@pytest.mark.parametrize("text, key", [
    ("name: ../../../x\ninputs: [clip.mp4]\nsteps:\n  - export: {presets: [tiny], dir: out}\n", "name"),
    ("inputs: [clip.mp4]\nsteps:\n  - export: {presets: [tiny], dir: out, name: ../../../x}\n", "export.name"),
    ("name: a/b\ninputs: [clip.mp4]\nsteps:\n  - export: {presets: [tiny], dir: out}\n", "name"),
    ("name: ..\ninputs: [clip.mp4]\nsteps:\n  - export: {presets: [tiny], dir: out}\n", "name"),
    ("inputs: [clip.mp4]\nsteps:\n  - export: {presets: [tiny], dir: out}\n"
     "variants:\n  up: {suffix: /../../../x}\n", "name"),
    ("inputs: [clip.mp4]\nsteps:\n  - export: {presets: [tiny], dir: out}\n"
     "variants:\n  up: {name: ../x}\n", "name"),
    ("vars: {n: ../../x}\nname: ${n}\ninputs: [clip.mp4]\nsteps:\n  - export: {presets: [tiny], dir: out}\n", "name"),
])
def test_names_do_not_leave_the_output_folder(project: Path, text: str, key: str) -> None:
    (project / "deep" / "er").mkdir(parents=True)
    path = project / "deep" / "er" / "p.yaml"
    path.write_text(text.replace("clip.mp4", str(project / "clip.mp4")))
    before = snapshot(project)
    refused(invoke("run", str(path), env=env(project)), key, "file name")
    refused(invoke("run", str(path), "--dry-run", env=env(project)), key, "file name")
    assert snapshot(project) == before


# ---- 15. variants ---------------------------------------------------------------------------
@pytest.mark.parametrize("variants", [
    "  a: {suffix: -v}\n  b: {suffix: -v}\n",
    "  a: {name: same}\n  b: {name: same}\n",
    "  a: {suffix: ''}\n  b: {suffix: ''}\n",
])
def test_variants_with_one_name_refused(project: Path, variants: str) -> None:
    path = project / "p.yaml"
    path.write_text("inputs: [clip.mp4]\nsteps:\n  - export: {presets: [tiny], dir: out}\nvariants:\n" + variants)
    refused(invoke("run", str(path), env=env(project)), "variants", "'a' and 'b'")
    assert not (project / "out").exists()


def test_variants_writing_one_report_refused(project: Path) -> None:
    path = project / "p.yaml"
    path.write_text("inputs: [clip.mp4]\nsteps:\n  - check: {report: r.html, warn: true}\n"
                    "variants:\n  a: {}\n  b: {}\n")
    refused(invoke("run", str(path), env=env(project)), "r.html", "also written by variant 'a'")
    path.write_text("inputs: [clip.mp4]\nsteps:\n  - check: {report: '${v}.html', warn: true}\n"
                    "variants:\n  a: {vars: {v: one}}\n  b: {vars: {v: two}}\nvars: {v: x}\n")
    assert invoke("run", str(path), env=env(project)).returncode == 0
    assert (project / "one.html").exists() and (project / "two.html").exists()


# ---- the real corpus ---------------------------------------------------------------------
VIDEO = ["SAR-2by3.mp4", "h264-mjpeg.mp4", "testsrc-hevc.mp4", "test_yuv422p.mp4", "mov_text.mp4", "testsrc.mkv"]
AUDIO = ["mono.mp3", "new-commentary.mp3", "alac.m4a"]


def clean(r, what: str) -> None:  # noqa: ANN001
    """Exit 0, or exit 1 for a check that failed, or a one-line exit 2; never an internal error."""
    assert "Traceback" not in r.stderr and "internal error" not in r.stderr, (what, r.stderr)
    errors = [ln for ln in r.stderr.splitlines() if ln.startswith("error:")]
    if r.returncode == 2:
        assert len(errors) == 1, (what, r.stderr)
    else:
        assert r.returncode == 0 or (r.returncode == 1 and what.startswith("check")), (what, r.returncode, r.stderr)


@pytest.fixture
def corpus() -> Path:
    if not CORPUS.is_dir():
        pytest.skip(f"the third-party media corpus is not at {CORPUS} (set REELFORGE_TEST_MEDIA)")
    return CORPUS


@pytest.mark.parametrize("name", VIDEO + AUDIO)
def test_corpus_every_command(corpus: Path, project: Path, name: str) -> None:
    src = str(corpus / name)
    out = project / "out"
    tone = str(corpus / "mono.mp3")
    fx = project / "fx.py"
    fx.write_text("def invert(frame):\n    return 255 - frame\n")
    e = env(project)
    commands = [
        ("probe", "probe", src, "--json"),
        ("check", "check", src, "--json"),
        ("stitch", "stitch", src, src, "-t", "fade:0.5", "-o", str(out / "s.timeline.json")),
        ("reframe", "reframe", src, "--aspect", "9:16", "-o", str(out / "r.timeline.json")),
        ("music", "music", src, "--track", tone, "-o", str(out / "m.timeline.json")),
        ("voiceover", "voiceover", src, "--audio", tone, "--at", "0", "-o", str(out / "v.timeline.json")),
        ("effect", "effect", src, "--clip", "1", "--function", f"{fx}:invert", "-o", str(out / "fx.timeline.json")),
        ("export-edit", "export-edit", src, "-o", str(out / "x.otio")),
        ("export", "export", src, "-p", "tiny", "-o", str(out / "direct"), "--dry-run"),
    ]
    results = {}
    for what, *args in commands:
        r = invoke(*args, env=e)
        clean(r, what)
        results[what] = r
    if name in AUDIO:
        # no picture: every command that needs one says so in one line
        for what in ("stitch", "reframe", "music", "voiceover", "effect", "export", "export-edit"):
            assert results[what].returncode == 2 and "no video stream" in results[what].stderr
        # but the file serves as sound
        clip = make_clip(project / "pic.mp4", duration=1.0)
        for what, args in (("music", ["music", str(clip), "--track", src]),
                           ("voiceover", ["voiceover", str(clip), "--audio", src, "--at", "0"])):
            r = invoke(*args, "-o", str(out / f"{what}-on-pic.mp4"), env=e)
            clean(r, what)
            assert r.returncode == 0 and frames_of(out / f"{what}-on-pic.mp4") == 30
        return
    assert json.loads(results["probe"].stdout)["video"]
    assert json.loads(results["check"].stdout)["input"]
    for what in ("stitch", "reframe", "music", "voiceover", "effect", "export-edit", "export"):
        assert results[what].returncode == 0, (what, results[what].stderr)
    # the joined, reframed and scored edits render
    r = invoke("export", str(out / "s.timeline.json"), "-p", "tiny", "-o", str(out / "joined"), env=e)
    clean(r, "export joined")
    assert r.returncode == 0
    r = invoke("export", str(out / "m.timeline.json"), "-p", "tiny", "-o", str(out / "scored"), "--dry-run",
                env=e, timeout=120)
    clean(r, "export scored")
    spec = write(project, f"""
        inputs: ["{src}"]
        steps:
          - reframe: {{aspect: "1:1", mode: center}}
          - check: {{warn: true, report: report.html}}
          - export: {{presets: [tiny], dir: out/run, captions: auto}}
        """)
    r = invoke("run", str(spec), env=e)
    clean(r, "run")
    assert r.returncode == 0 and (project / "out" / "run" / "p.tiny.mp4").exists()
