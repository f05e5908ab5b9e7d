"""Batches: `reelforge run --matrix` (and a `matrix:` key, and variants) on the local
executor: one run per row with its own outputs; a bad row refused before anything runs."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from pipeline.model.media import probe
from tests.conftest import run_cli
from tests.media import frames_of, make_clip
from tests.pipekit import tiny_preset

PIPE = """
    name: promo
    vars: {first: clip1.mp4, second: clip2.mp4, transition: cut, fn: invert}
    inputs: ["${first}", "${second}"]
    steps:
      - effect: {clip: 1, function: "fx.py:${fn}"}
      - stitch: {transition: "${transition}"}
      - export: {presets: [tiny, tiny2], dir: out, provenance: "off"}
    """


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    tiny_preset(monkeypatch, tmp_path / "presets")
    for i, tone in enumerate((440, 660, 880)):
        make_clip(tmp_path / f"clip{i + 1}.mp4", duration=1.0, audio=True, tone=tone)
    (tmp_path / "fx.py").write_text("def invert(frame):\n    return 255 - frame\n\n"
                                    "def broken(frame):\n    raise ValueError('no such look')\n")
    (tmp_path / "promo.yaml").write_text(textwrap.dedent(PIPE).lstrip())
    return tmp_path


def write_csv(folder: Path, text: str, name: str = "variants.csv") -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text).lstrip())
    return path


def test_matrix_one_run_per_row_then_served_from_cache(project: Path) -> None:
    matrix = write_csv(project, """
        first,second,transition
        clip1.mp4,clip2.mp4,cut
        clip2.mp4,clip3.mp4,fade:0.5
        clip3.mp4,clip1.mp4,cut
        """)
    r = run_cli("run", str(project / "promo.yaml"), "--matrix", str(matrix), "--workers", "2", "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["ok"] and doc["executor"] == "local" and doc["counts"] == {"done": 3}
    assert [row["name"] for row in doc["rows"]] == ["promo-1", "promo-2", "promo-3"]
    out = project / "out"
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [f"promo-{i}.{p}.mp4" for i in (1, 2, 3) for p in ("tiny", "tiny2")] + ["promo.run.json", "promo.review.html"])
    # the batch's review page: a section per row, every output with its measured facts
    assert r.stderr.rstrip().endswith(f"review page: {out / 'promo.review.html'}")
    record = json.loads((out / "promo.run.json").read_text())
    assert [v["name"] for v in record["variants"]] == ["promo-1", "promo-2", "promo-3"]
    for v in record["variants"]:
        assert [s["state"] for s in v["steps"]] == ["done"]
        for o in v["outputs"]:
            assert o["facts"]["frames"] == frames_of(out / o["file"]) and o["facts"]["loudness_by"] == "export"
    page = (out / "promo.review.html").read_text()
    assert all(f'src="promo-{i}.tiny2.mp4"' in page for i in (1, 2, 3))
    # each row used its own values: a fade of 0.5 s overlaps the clips by 15 frames
    assert frames_of(out / "promo-1.tiny.mp4") == 60 and frames_of(out / "promo-2.tiny2.mp4") == 45
    assert probe(out / "promo-3.tiny2.mp4").v.display_size == (320, 180)
    verified = [o["verified"] for row in doc["rows"] for o in row["outputs"]]
    assert verified == ["ok"] * 6
    stamps = {p.name: p.stat().st_mtime_ns for p in out.glob("*.mp4")}
    again = run_cli("run", str(project / "promo.yaml"), "--matrix", str(matrix), "--json")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["counts"] == {"cached": 3}
    assert {p.name: p.stat().st_mtime_ns for p in out.glob("*.mp4")} == stamps  # no output written again
    assert "review page:" in again.stderr  # the page is built again, from what the rows delivered


def test_bad_row_is_refused_naming_row_and_column_before_anything_runs(project: Path) -> None:
    pipe = str(project / "promo.yaml")
    unknown = write_csv(project, """
        first,secnd
        clip1.mp4,clip2.mp4
        """, "unknown.csv")
    r = run_cli("run", pipe, "--matrix", str(unknown))
    assert r.returncode == 2
    assert r.stderr.strip().splitlines() == [
        f"error: {unknown}:2: row 1, column 'secnd': unknown variable (did you mean 'second'?); "
        "the file's variables: first, fn, second, transition"]
    invalid = write_csv(project, """
        first,transition
        clip1.mp4,cut
        clip2.mp4,

        clip3.mp4,swirl:1
        """, "invalid.csv")
    r = run_cli("run", pipe, "--matrix", str(invalid))
    assert r.returncode == 2 and "Traceback" not in r.stderr
    line = r.stderr.strip()
    assert line.startswith(f"error: {invalid}:5: row 3, column 'transition': ") and "swirl" in line
    missing = write_csv(project, """
        first
        nowhere.mp4
        """, "missing.csv")
    r = run_cli("run", pipe, "--matrix", str(missing))
    assert r.returncode == 2 and f"{missing}:2: row 1, column 'first': " in r.stderr and "nowhere.mp4" in r.stderr
    r = run_cli("run", pipe, "--matrix", str(project / "none.csv"))
    assert r.returncode == 2 and "--matrix" in r.stderr and "none.csv: no such file" in r.stderr
    assert not (project / "out").exists()  # nothing ran for any of them


def test_failed_row_is_listed_and_exits_1_while_the_others_finish(project: Path) -> None:
    matrix = write_csv(project, """
        fn,second
        invert,clip2.mp4
        broken,clip3.mp4
        """)
    r = run_cli("run", str(project / "promo.yaml"), "--matrix", str(matrix), "--json")
    assert r.returncode == 1
    doc = json.loads(r.stdout)
    assert not doc["ok"] and doc["counts"] == {"done": 1, "failed": 1}
    failed = doc["rows"][1]
    assert failed["state"] == "failed" and "no such look" in failed["reason"]
    assert "failed: promo-2 (row 2): " in r.stderr and "no such look" in r.stderr
    out = project / "out"
    assert sorted(p.name for p in out.glob("*.mp4")) == ["promo-1.tiny.mp4", "promo-1.tiny2.mp4"]
    # the page shows both rows: what the first delivered, and why the second stopped
    (first, second) = json.loads((out / "promo.run.json").read_text())["variants"]
    assert len(first["outputs"]) == 2 and not second["outputs"]
    assert "no such look" in second["error"]
    assert "Stopped: " in (out / "promo.review.html").read_text()


def test_matrix_key_and_variants_make_the_same_batch(project: Path) -> None:
    (project / "promo.yaml").write_text(textwrap.dedent("""
        name: "spot-${second}"
        vars: {first: clip1.mp4, second: clip2.mp4}
        matrix:
          - {second: clip2.mp4}
          - {second: clip3.mp4}
        inputs: ["${first}", "${second}"]
        steps:
          - export: {presets: [tiny], dir: out, provenance: "off"}
        variants:
          long: {vars: {first: clip1.mp4}}
          short: {vars: {first: clip3.mp4}, steps: {export: {presets: [tiny2]}}}
        """).lstrip())
    plan = run_cli("run", str(project / "promo.yaml"), "--dry-run", "--json")
    assert plan.returncode == 0, plan.stderr
    planned = json.loads(plan.stdout)
    assert planned["counts"] == {"planned": 4} and not (project / "out").exists()
    assert [o["path"] for o in planned["rows"][3]["outputs"]] == [str(project / "out" / "spot-clip3.mp4-short.tiny2.mp4")]
    r = run_cli("run", str(project / "promo.yaml"), "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert [(row["name"], row["label"]) for row in doc["rows"]] == [
        ("spot-clip2.mp4-long", "row 1, variant long"), ("spot-clip2.mp4-short", "row 1, variant short"),
        ("spot-clip3.mp4-long", "row 2, variant long"), ("spot-clip3.mp4-short", "row 2, variant short")]
    assert sorted(p.name for p in (project / "out").glob("*.mp4")) == [
        "spot-clip2.mp4-long.tiny.mp4", "spot-clip2.mp4-short.tiny2.mp4",
        "spot-clip3.mp4-long.tiny.mp4", "spot-clip3.mp4-short.tiny2.mp4"]
    # one page for the batch, named after the file when its name depends on the row
    record = json.loads((project / "out" / "promo.run.json").read_text())
    assert [v["name"] for v in record["variants"]] == [row["name"] for row in doc["rows"]]
