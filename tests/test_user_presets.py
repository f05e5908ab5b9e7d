"""User presets: one that extends the built-in it replaces, one that is broken (it fails
only where it is used, naming its file and key), and the range of every number."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.model.media import probe
from tests.conftest import run_cli
from tests.media import make_clip, write_preset


def test_user_preset_extends_the_builtin_of_the_same_name(tmp_path: Path) -> None:
    folder = tmp_path / "presets"
    folder.mkdir()
    (folder / "tiktok.toml").write_text('extends = "tiktok"\nmax_size_mb = 50.0\nloudness_lufs = -16.0\n')
    r = run_cli("presets", "show", "tiktok", "--json", env={"REELFORGE_PRESETS": str(folder)})
    assert r.returncode == 0, r.stderr
    shown = json.loads(r.stdout)
    # the built-in's shape, the user's changes, and the user's file as the source
    assert (shown["width"], shown["height"], shown["aspect"], shown["max_duration"]) == (1080, 1920, "9:16", 600.0)
    assert (shown["max_size_mb"], shown["loudness_lufs"]) == (50.0, -16.0)
    assert shown["source"] == str(folder / "tiktok.toml")


def test_a_broken_user_preset_fails_only_where_it_is_used(tmp_path: Path) -> None:
    folder = tmp_path / "presets"
    bad = write_preset(folder, "loud", loudness_lufs=20)
    (folder / "garbled.toml").write_text("width = = 3\n")
    env = {"REELFORGE_PRESETS": str(folder)}
    clip = make_clip(tmp_path / "clip.mp4", duration=1.0, audio=True)

    ok = run_cli("export", str(clip), "-p", "web-preview", "--speed", "ultrafast", "-o", str(tmp_path / "ok"), env=env)
    assert ok.returncode == 0, ok.stderr
    assert probe(tmp_path / "ok" / "clip.web-preview.mp4").v.display_size == (640, 360)

    r = run_cli("export", str(clip), "-p", "loud", "-o", str(tmp_path / "loud"), env=env)
    assert r.returncode == 2
    assert r.stderr.strip().splitlines() == [f"error: {bad}: loudness_lufs = 20: must be between -40 and -5 LUFS"]
    assert not (tmp_path / "loud").exists()
    r = run_cli("export", str(clip), "-p", "garbled", "-o", str(tmp_path / "garbled"), env=env)
    assert r.returncode == 2 and str(folder / "garbled.toml") in r.stderr and len(r.stderr.strip().splitlines()) == 1

    listed = run_cli("presets", "list", env=env)
    assert listed.returncode == 0, listed.stderr
    rows = {line.split("│")[1].strip(): line for line in listed.stdout.splitlines() if line.count("│") > 2}
    assert "BROKEN" in rows["loud"] and "BROKEN" in rows["garbled"] and "BROKEN" not in rows["tiktok"]
    assert "loudness_lufs" in listed.stdout + listed.stderr
    as_json = json.loads(run_cli("presets", "list", "--json", env=env).stdout)
    broken = {p["name"]: p["broken"] for p in as_json if "broken" in p}
    assert set(broken) == {"loud", "garbled"} and "loudness_lufs" in broken["loud"]
    assert {"tiktok", "web-preview"} <= {p["name"] for p in as_json if "broken" not in p}


@pytest.mark.parametrize(("key", "value"), [
    ("loudness_lufs", 20), ("loudness_lufs", -60), ("true_peak_dbtp", 3), ("true_peak_dbtp", -12),
    ("max_fps", 0), ("max_fps", 1000), ("width", 100000), ("height", 4), ("width", "320"), ("crf", 99),
    ("sample_rate", 1000), ("channels", 0), ("gop_seconds", 0), ("max_size_mb", -1), ("max_duration", 0),
    ("audio_bitrate", "1"), ("audio_bitrate", "fast"), ("maxrate", "999G"), ("bufsize", 0),
    ("loudness_tolerance_lu", 50),
])
def test_every_preset_number_has_a_range(tmp_path: Path, key: str, value: object) -> None:
    path = write_preset(tmp_path / "presets", "odd", **{key: value})
    r = run_cli("presets", "show", "odd", env={"REELFORGE_PRESETS": str(tmp_path / "presets")})
    assert r.returncode == 2, r.stdout
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and str(path) in lines[0] and f"{key} = " in lines[0], r.stderr
