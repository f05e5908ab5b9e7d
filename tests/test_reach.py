"""Whatever the command line can do, a pipeline file and the Python API can do too: stitch's
stream copy and check's --fix, reached through their Params fields."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from pipeline import stages
from pipeline.run.stage import StageContext
from tests.conftest import run_cli
from tests.media import frames_of, make_clip
from tests.pipekit import tiny_preset
from tests.syncclips import flash_clip
from tests.test_stitch import packet_hashes


@pytest.fixture(scope="module")
def same(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Two clips that can be joined packet for packet."""
    d = tmp_path_factory.mktemp("same")
    return [make_clip(d / name, size="160x90", fps="30", duration=1.0, audio=True, tone=tone, pattern=pattern)
            for name, tone, pattern in (("a [1].mp4", 330.0, "testsrc2"), ("b; 2.mp4", 550.0, "rgbtestsrc"))]


def joined_by_copy(out: Path, sources: list[Path]) -> bool:
    got, want = packet_hashes(out), [packet_hashes(p) for p in sources]
    return got["video"] == [h for w in want for h in w["video"]] and \
        got["audio"] == [h for w in want for h in w["audio"]]


def test_stream_copy_from_a_pipeline_file(same: list[Path], tmp_path: Path) -> None:
    spec = tmp_path / "join.yaml"
    spec.write_text(textwrap.dedent(f"""
        inputs: ["{same[0]}", "{same[1]}"]
        steps:
          - stitch: {{output: joined.mp4}}
        """))
    r = run_cli("run", str(spec))
    assert r.returncode == 0, r.stderr
    assert "by stream copy" in r.stderr
    assert joined_by_copy(tmp_path / "joined.mp4", same) and frames_of(tmp_path / "joined.mp4") == 60
    spec.write_text(spec.read_text().replace("{output: joined.mp4}", "{output: again.mp4, stream_copy: false}"))
    r = run_cli("run", str(spec))
    assert r.returncode == 0, r.stderr
    assert "stream copy" not in r.stderr
    assert not joined_by_copy(tmp_path / "again.mp4", same) and frames_of(tmp_path / "again.mp4") == 60
    spec.write_text(spec.read_text().replace("{output: again.mp4, stream_copy: false}", "{output: joined.txt}"))
    r = run_cli("run", str(spec))
    assert r.returncode == 2
    assert r.stderr.strip() == f"error: {spec}:4: stitch.output: must be a video file (.mp4, .mov, .mkv, .m4v)"


def test_stream_copy_from_the_api(same: list[Path], tmp_path: Path) -> None:
    out = tmp_path / "joined.mp4"
    ctx = StageContext(base_dir=tmp_path)
    tl = stages.stitch([str(p) for p in same], output="joined.mp4", ctx=ctx)
    assert len(tl.video) == 2 and joined_by_copy(out, same)
    assert ctx.outputs[-1] == {"path": str(out), "kind": "joined sequence", "stream_copy": True}
    stages.stitch([str(p) for p in same], output=str(tmp_path / "cut.mp4"), transition="fade:0.2")
    assert frames_of(tmp_path / "cut.mp4") == 60 - 6 and not joined_by_copy(tmp_path / "cut.mp4", same)


@pytest.fixture(scope="module")
def late(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A clip whose sound comes 250 ms late: well outside the ITU window."""
    return flash_clip(tmp_path_factory.mktemp("sync") / "late sound.mp4", 24, -0.25, duration=5.0, seed=100)


def offset_ms(path: Path) -> float:
    from stages.check.measure import measure_sync

    res = measure_sync(str(path))
    assert res.offset_ms is not None, res.reason
    return res.offset_ms


def test_fix_from_a_pipeline_file(late: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tiny_preset(monkeypatch, tmp_path / "presets")
    spec = tmp_path / "synced.yaml"
    spec.write_text(textwrap.dedent(f"""
        name: synced
        inputs: ["{late}"]
        steps:
          - export: {{presets: [tiny], dir: out, verify: false}}
          - check: {{fix: true, output: fixed.mp4, warn: true}}
        """))
    r = run_cli("run", str(spec))
    assert r.returncode == 0, r.stderr
    assert abs(offset_ms(tmp_path / "out" / "synced.tiny.mp4") + 250) <= 1000 / 24
    assert abs(offset_ms(tmp_path / "fixed.mp4")) <= 10
    assert frames_of(tmp_path / "fixed.mp4") == frames_of(tmp_path / "out" / "synced.tiny.mp4")
    spec.write_text(spec.read_text().replace("{fix: true, output: fixed.mp4, warn: true}", "{fix: true}"))
    r = run_cli("run", str(spec))
    assert r.returncode == 2 and r.stderr.strip() == (
        f"error: {spec}:6: check.fix: give the file for the corrected copy (output; -o OUT on the command line)")


def test_fix_from_the_api(late: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pipeline.errors import CheckFailed, InputError

    tiny_preset(monkeypatch, tmp_path / "presets")
    ctx = StageContext(base_dir=tmp_path)
    tl = stages.export(str(late), presets=["tiny"], dir="out", verify=False, ctx=ctx)
    with pytest.raises(CheckFailed, match="sync"):  # the exported file fails; its corrected copy is written
        stages.check(tl, fix=True, output="fixed.mp4", ctx=ctx)
    assert abs(offset_ms(tmp_path / "fixed.mp4")) <= 10
    with pytest.raises(InputError, match=r"^check.fix: corrects media files; put the check after export$"):
        stages.check(tl, fix=True, output="other.mp4")  # nothing exported in this context
    assert not (tmp_path / "other.mp4").exists()
