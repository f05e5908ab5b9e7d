"""The built-in preset library: every preset's numbers, citations, and a real export of
each that passes verification."""

from __future__ import annotations

import re
from fractions import Fraction
from pathlib import Path

import pytest

from pipeline.model.media import probe
from pipeline.delivery.presets import _builtin_dir, get_preset, load_presets
from tests.conftest import run_cli
from tests.media import make_clip

LIBRARY = {
    "tiktok": (1080, 1920), "instagram-reels": (1080, 1920), "instagram-feed-square": (1080, 1080),
    "instagram-feed-portrait": (1080, 1350), "instagram-story": (1080, 1920), "youtube-shorts": (1080, 1920),
    "youtube-1080p": (1920, 1080), "youtube-4k": (3840, 2160), "x-landscape": (1920, 1080),
    "x-portrait": (720, 1280), "linkedin-landscape": (1920, 1080), "linkedin-square": (1080, 1080),
    "facebook-reels": (1080, 1920), "facebook-feed": (1080, 1350), "master": (1920, 1080),
    "web-preview": (640, 360),
}


def test_library_is_complete_with_sizes_and_aspects() -> None:
    presets = load_presets()
    assert set(LIBRARY) <= set(presets)
    for name, (w, h) in LIBRARY.items():
        p = presets[name]
        assert (p.width, p.height) == (w, h), name
        aw, ah = (int(x) for x in p.aspect.split(":"))
        assert Fraction(aw, ah) == Fraction(w, h), name
        x, y, sw, sh = p.safe_box()
        assert 0 <= x and 0 <= y and x + sw <= w and y + sh <= h and sw > w / 2 and sh > h / 3, name


def test_each_file_cites_its_spec_date_and_loudness_convention() -> None:
    folder = _builtin_dir()
    for name in LIBRARY:
        text = (folder / f"{name}.toml").read_text(encoding="utf-8")
        comments = "\n".join(line for line in text.splitlines() if line.startswith("#"))
        assert "2026-11-21" in comments, name
        assert re.search(r"loudness", comments, re.I), name
        assert "http" in comments or "EBU" in comments or "AES" in comments, name


def test_platform_limits() -> None:
    assert get_preset("facebook-reels").max_duration == 90
    assert get_preset("youtube-shorts").max_duration == 180
    assert get_preset("x-landscape").max_duration == 140 and get_preset("x-landscape").max_size_mb == 512
    assert get_preset("tiktok").max_size_mb == 500
    assert get_preset("linkedin-landscape").max_size_mb == 200
    assert get_preset("master").loudness_lufs == -23
    assert float(get_preset("x-portrait").max_fps) <= 40


def test_user_preset_extends_and_is_validated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "presets"
    folder.mkdir()
    (folder / "mine.toml").write_text('extends = "tiktok"\nmax_size_mb = 10.0\nsafe_bottom = 0.3\n')
    monkeypatch.setenv("REELFORGE_PRESETS", str(folder))
    mine = load_presets()["mine"]
    assert (mine.width, mine.height, mine.max_size_mb, mine.safe_bottom) == (1080, 1920, 10.0, 0.3)
    (folder / "bad.toml").write_text('extends = "tiktok"\naspect = "16:9"\n')
    r = run_cli("presets", "show", "bad", env={"REELFORGE_PRESETS": str(folder)})
    assert r.returncode == 2 and "bad.toml" in r.stderr and "aspect" in r.stderr and "Traceback" not in r.stderr


def test_every_builtin_preset_exports_and_passes_verification(tmp_path: Path) -> None:
    """One export run, all sixteen presets (one ffmpeg process); each output has its
    preset's shape and the command's own verification passes (exit 0)."""
    src = make_clip(tmp_path / "src.mp4", size="320x180", fps="30", duration=1.0, audio=True, pattern="testsrc")
    args = ["export", str(src), "-o", str(tmp_path / "out"), "--speed", "ultrafast"]
    for name in LIBRARY:
        args += ["-p", name]
    r = run_cli(*args)
    assert r.returncode == 0, r.stderr
    assert "verification" in r.stderr and "FAILED" not in r.stderr
    for name, (w, h) in LIBRARY.items():
        preset = get_preset(name)
        info = probe(tmp_path / "out" / f"src.{name}.mp4")
        v = info.v
        assert v.display_size == (w, h), name
        assert v.codec == "h264" and v.pix_fmt == preset.pix_fmt, name
        assert v.fps == min(Fraction(30), preset.max_fps), name
        assert v.frames == v.fps * 1, name  # a 1 s timeline, exact to the frame
        assert info.audio[0].codec == "aac" and info.audio[0].sample_rate == preset.sample_rate, name


def test_rate_above_the_preset_maximum_drops_frames_evenly() -> None:
    from pipeline.delivery.presets import output_fps

    cap = Fraction(30)
    assert output_fps(Fraction(24), cap) == 24
    assert output_fps(Fraction(60), cap) == 30
    assert output_fps(Fraction(50), cap) == 25
    assert output_fps(Fraction(60000, 1001), cap) == Fraction(30000, 1001)
    assert output_fps(Fraction(45), cap) == 30  # no even division near the cap
    assert get_preset("instagram-reels").settings(Fraction(50)).fps == 25


def test_a_user_preset_with_an_unknown_x264_speed_is_bad_input(tmp_path: Path) -> None:
    from tests.conftest import run_cli
    from tests.media import make_clip, write_preset

    clip = make_clip(tmp_path / "a.mp4", duration=0.5)
    path = write_preset(tmp_path / "presets", "typo", x264_preset="veryfsat")
    r = run_cli("export", str(clip), "-p", "typo", "-o", str(tmp_path / "out"), env={"REELFORGE_PRESETS": str(tmp_path / "presets")})
    assert r.returncode == 2, r.stderr
    assert r.stderr.strip().splitlines() == [f"error: {path}: x264_preset 'veryfsat' is not one of "
                                             "ultrafast, superfast, veryfast, faster, fast, medium, slow, slower, veryslow, placebo"]
    assert not (tmp_path / "out").exists()
