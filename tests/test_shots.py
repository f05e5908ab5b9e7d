"""check per shot: a stitched file is measured shot by shot between the cuts it shows, a
timeline clip by clip over each clip's own span; one late shot is named with its time
range; --fix moves only that shot's sound (file: picture packets untouched; timeline:
that clip's audio_shift, and the render then measures in sync)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.media import ffmpeg
from tests.syncclips import ball_clip, flash_clip

FPS = 25
LATE_MS = -200.0
SHOT_S = 4.0


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("shots")
    plain = flash_clip(folder / "plain.mp4", FPS, 0.0, duration=SHOT_S, seed=41)
    first = folder / "first.mp4"  # a grid over the flashes: the cut to the next shot shows
    ffmpeg("-i", str(plain), "-vf", "drawgrid=w=16:h=16:t=2:c=white@0.6", "-c:v", "libx264", "-preset", "ultrafast",
           "-c:a", "copy", str(first))
    second = ball_clip(folder / "second take.mp4", FPS, LATE_MS / 1000, duration=SHOT_S, seed=42)
    joined = folder / "joined.mp4"
    ffmpeg("-i", str(first), "-i", str(second), "-filter_complex",
           "[0:v][0:a][1:v][1:a]concat=n=2:v=1:a=1[v][a]", "-map", "[v]", "-map", "[a]",
           "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-ar", "48000", str(joined))
    return {"first": first, "second": second, "joined": joined, "folder": folder}


def _shot_checks(doc: dict) -> dict[str, dict]:
    return {c["name"]: c for c in doc["checks"] if c["name"].startswith("av_sync")}


def test_a_stitched_file_is_measured_per_shot(shots: dict, cli) -> None:
    proc = cli("check", str(shots["joined"]), "--json")
    assert proc.returncode == 1, proc.stderr
    doc = json.loads(proc.stdout)
    assert len(doc["shots"]) == 2
    one, two = doc["shots"]
    assert one["start_s"] == 0 and two["start_s"] == pytest.approx(SHOT_S, abs=1 / FPS)
    assert abs(one["offset_ms"]) <= 1000 / FPS
    assert abs(two["offset_ms"] - LATE_MS) <= 1000 / FPS
    checks = _shot_checks(doc)
    late = [name for name, c in checks.items() if not c["passed"]]
    assert late == [f"av_sync:shot 2 ({two['start_s']:.2f}-{two['end_s']:.2f} s)"]
    assert doc["av_offset_ms"] == two["offset_ms"]


def test_fix_on_a_file_moves_only_the_late_shots_sound(shots: dict, cli, tmp_path: Path) -> None:
    import av

    out = tmp_path / "joined fixed.mp4"
    proc = cli("check", str(shots["joined"]), "--fix", "-o", str(out))
    assert proc.returncode == 1 and out.exists(), proc.stderr
    assert "shot 2 audio delayed by" not in proc.stderr and "shot 2 audio advanced by" in proc.stderr
    doc = json.loads(cli("check", str(out), "--json").stdout)
    assert doc["passed"], doc["checks"]
    assert [abs(s["offset_ms"]) <= 1000 / FPS for s in doc["shots"]] == [True, True]

    def packets(p: Path) -> list[bytes]:
        with av.open(str(p)) as c:
            return [bytes(pk) for pk in c.demux(video=0) if pk.size]

    assert packets(shots["joined"]) == packets(out)


def test_a_timeline_is_measured_per_clip_and_fixed_on_that_clip(shots: dict, cli, tmp_path: Path) -> None:
    from pipeline.model.timeline import Timeline

    seq = tmp_path / "seq.timeline.json"
    assert cli("stitch", str(shots["first"]), str(shots["second"]), "-o", str(seq)).returncode == 0
    proc = cli("check", str(seq), "--json")
    doc = json.loads(proc.stdout)
    checks = _shot_checks(doc)
    failing = [n for n, c in checks.items() if not c["passed"]]
    assert failing == ["av_sync:shot 2 second take (4.00-8.00 s)"], checks
    fixed = tmp_path / "seq fixed.timeline.json"
    proc = cli("check", str(seq), "--fix", "-o", str(fixed))
    assert proc.returncode == 1 and fixed.exists(), proc.stderr
    tl = Timeline.load(fixed)
    assert tl.video[0].audio_shift == 0
    assert abs(float(tl.video[1].audio_shift) * 1000 - LATE_MS) <= 1000 / FPS
    rendered = tmp_path / "rendered.mp4"
    assert cli("stitch", str(fixed), "-o", str(rendered)).returncode == 0
    doc = json.loads(cli("check", str(rendered), "--json").stdout)
    assert len(doc["shots"]) == 2
    assert [abs(s["offset_ms"]) <= 1000 / FPS for s in doc["shots"]] == [True, True], doc["shots"]


def test_fix_with_nothing_to_correct_is_refused(shots: dict, cli, tmp_path: Path) -> None:
    seq = tmp_path / "one.timeline.json"
    assert cli("stitch", str(shots["first"]), "-o", str(seq)).returncode == 0
    out = tmp_path / "one fixed.timeline.json"
    proc = cli("check", str(seq), "--fix", "-o", str(out))
    assert proc.returncode == 1 and "nothing to correct" in proc.stderr and not out.exists()
    assert cli("check", str(seq), "--fix", "-o", str(tmp_path / "x.mp4")).returncode == 2


def test_report_has_a_row_curves_and_a_peak_frame_per_shot(shots: dict, cli, tmp_path: Path) -> None:
    report = tmp_path / "shots.html"
    proc = cli("check", str(shots["joined"]), "--report", str(report))
    assert proc.returncode == 1, proc.stderr
    text = report.read_text()
    assert "<h2>Shots</h2>" in text
    assert text.count("Sound and picture, shot ") == 2
    assert "Sound and picture, shot 2 (4.00-8.00 s)" in text
    rows = text.split("<h2>Shots</h2>")[1].split("</table>")[0]
    assert rows.count('<tr class="ok">') == 1 and rows.count('<tr class="bad">') == 1
    assert text.count("The frame at the strongest matched moment") == 2
