"""The command line as users meet it: exit codes, one-line errors, atomic outputs."""

import json
from fractions import Fraction
from pathlib import Path

import pytest

from pipeline.model.media import probe
from tests.conftest import run_cli
from tests.media import make_clip

WEIRD = "it's a \"clip\" [v1]; 50%, ünï:code.mp4"


def _bad_files(tmp_path: Path) -> dict[str, Path]:
    good = make_clip(tmp_path / "good.mp4", duration=1.0)
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    truncated = tmp_path / "truncated.mp4"
    truncated.write_bytes(good.read_bytes()[:600])
    text = tmp_path / "notes.mp4"
    text.write_text("this is a text file, not a video\n" * 20)
    return {"empty": empty, "truncated": truncated, "text": text}


@pytest.mark.parametrize("kind", ["empty", "truncated", "text"])
def test_bad_input_is_exit_2_with_file_named(tmp_path: Path, kind: str) -> None:
    bad = _bad_files(tmp_path)[kind]
    r = run_cli("probe", str(bad))
    assert r.returncode == 2, r.stderr
    assert bad.name in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    out_dir = tmp_path / "out"
    r = run_cli("export", str(bad), "--preset", "tiktok", "-o", str(out_dir))
    assert r.returncode == 2 and bad.name in r.stderr and "Traceback" not in r.stderr
    assert not out_dir.exists() or not any(out_dir.iterdir())


def test_unknown_preset_and_option_errors(tmp_path: Path) -> None:
    clip = make_clip(tmp_path / "c.mp4", duration=0.5)
    r = run_cli("export", str(clip), "--preset", "tiktk", "-o", str(tmp_path / "o"))
    assert r.returncode == 2 and "tiktok" in r.stderr and "Traceback" not in r.stderr
    r = run_cli("generate", "--prompt", "x", "--model", "sora-2", "--duration", "5", "-o", str(tmp_path / "g.mp4"))
    assert r.returncode == 2 and "4, 8, 12" in r.stderr
    assert not (tmp_path / "g.mp4").exists()


def test_weird_file_name_goes_through_probe_and_export(tmp_path: Path) -> None:
    clip = make_clip(tmp_path / WEIRD, size="320x180", duration=1.0, audio=True)
    r = run_cli("probe", str(clip), "--json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["video"][0]["width"] == 320 and data["audio"][0]["channels"] == 2
    out_dir = tmp_path / "out; [x] 100%"
    r = run_cli("export", str(clip), "--preset", "instagram-feed-square", "-o", str(out_dir))
    assert r.returncode == 0, r.stderr
    out = out_dir / (Path(WEIRD).stem + ".instagram-feed-square.mp4")
    info = probe(out)
    assert (info.v.width, info.v.height) == (1080, 1080)


def test_existing_output_is_not_overwritten(tmp_path: Path) -> None:
    clip = make_clip(tmp_path / "c.mp4", duration=0.5)
    out_dir = tmp_path / "o"
    out_dir.mkdir()
    mine = out_dir / "c.master.mp4"
    mine.write_bytes(b"precious")
    r = run_cli("export", str(clip), "--preset", "master", "-o", str(out_dir))
    assert r.returncode == 2 and "already exists" in r.stderr
    assert mine.read_bytes() == b"precious"


def test_presets_json_is_one_document() -> None:
    r = run_cli("presets", "list", "--json")
    assert r.returncode == 0
    names = {p["name"] for p in json.loads(r.stdout)}
    assert {"tiktok", "instagram-reels", "youtube-shorts", "youtube-1080p", "instagram-feed-square", "master"} <= names
    r = run_cli("presets", "show", "tiktok", "--json")
    data = json.loads(r.stdout)
    assert (data["width"], data["height"]) == (1080, 1920)


def test_user_presets_add_and_override(tmp_path: Path) -> None:
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "tiny.toml").write_text('name = "tiny"\nextends = "tiktok"\ndescription = "small"\nwidth = 360\nheight = 640\n')
    (folder / "tiktok.toml").write_text('name = "tiktok"\nextends = "_vertical"\ndescription = "mine"\nplatform = "tiktok"\nmax_fps = 25\n')
    r = run_cli("presets", "show", "tiny", "--json", env={"REELFORGE_PRESETS": str(folder)})
    tiny = json.loads(r.stdout)
    assert (tiny["width"], tiny["height"], tiny["max_fps"]) == (360, 640, 25)
    r = run_cli("presets", "show", "tiktok", "--json", env={"REELFORGE_PRESETS": str(folder)})
    assert json.loads(r.stdout)["description"] == "mine"


def test_doctor_reports_ffmpeg_and_never_a_key() -> None:
    r = run_cli("doctor", env={"OPENAI_API_KEY": "sk-secret-value-123"})
    assert r.returncode == 0, r.stdout + r.stderr
    assert "ffmpeg" in r.stdout and "libx264" in r.stdout
    assert "OPENAI_API_KEY set" in r.stdout
    assert "sk-secret-value-123" not in r.stdout + r.stderr


def test_every_command_has_help_with_example() -> None:
    r = run_cli("--help")
    commands = [line.split()[0] for line in r.stdout.split("Commands:")[1].splitlines() if line.strip()]
    assert "probe" in commands and "export" in commands
    for cmd in commands:
        h = run_cli(cmd, "--help")
        assert h.returncode == 0 and "Example" in h.stdout, cmd


def test_export_every_builtin_preset_shape(tmp_path: Path) -> None:
    from pipeline.delivery.presets import load_presets

    clip = make_clip(tmp_path / "s.mp4", size="320x180", duration=0.4, audio=True)
    presets = load_presets()
    args = ["export", str(clip), "-o", str(tmp_path / "out")]
    for name in presets:
        args += ["--preset", name]
    r = run_cli(*args)
    assert r.returncode == 0, r.stderr
    for name, p in presets.items():
        info = probe(tmp_path / "out" / f"s.{name}.mp4")
        v = info.v
        assert (v.width, v.height) == (p.width, p.height), name
        assert v.codec == {"libx264": "h264", "libx265": "hevc"}.get(p.video_codec, p.video_codec), name
        assert v.pix_fmt == p.pix_fmt, name
        assert v.fps <= p.max_fps and v.fps == Fraction(30) if p.max_fps >= 30 else v.fps == p.max_fps
        assert info.audio[0].sample_rate == p.sample_rate


def test_usage_errors_are_one_line_naming_the_option(tmp_path: Path) -> None:
    clip = make_clip(tmp_path / "a.mp4", duration=1.0)
    folder = tmp_path / "folder.mp4"
    folder.mkdir()
    cases = [
        (("stitch", str(folder), "-o", str(tmp_path / "o.mp4")), "folder.mp4"),
        (("reframe", str(clip), "--aspect", "9x16", "-o", str(tmp_path / "r.timeline.json")), "--aspect"),
        (("stitch", str(clip)), "--output"),
        (("music", str(clip), "--track", str(folder), "-o", str(tmp_path / "m.timeline.json")), "--track"),
        (("probe", str(clip), "--nope"), "--nope"),
    ]
    for args, named in cases:
        r = run_cli(*args)
        assert r.returncode == 2, (args, r.stderr)
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and named in lines[0], (args, r.stderr)
        assert r.stdout == ""


def test_out_of_range_option_values_name_the_option_typed(tmp_path: Path) -> None:
    clip = make_clip(tmp_path / "a.mp4", duration=1.0, audio=True)
    out = tmp_path / "o.timeline.json"
    cases = [
        (("music", str(clip), "--track", str(clip), "--gain-db", "1000", "-o", str(out)), "--gain-db 1000:"),
        (("music", str(clip), "--track", str(clip), "--fade-in", "-1", "-o", str(out)), "--fade-in -1:"),
        (("voiceover", str(clip), "--audio", str(clip), "--at", "-2", "-o", str(out)), "--at -2:"),
        (("export", str(clip), "-p", "web-preview", "--thumbnail-at", "-1", "-o", str(tmp_path / "x")), "--thumbnail-at -1:"),
        (("export", str(clip), "-p", "nope", "-o", str(tmp_path / "x")), "--preset: unknown preset 'nope'"),
    ]
    for args, named in cases:
        r = run_cli(*args)
        assert r.returncode == 2, (args, r.stderr)
        assert r.stderr.strip().splitlines() == [f"error: {r.stderr.strip()[7:]}"] and named in r.stderr, (args, r.stderr)
    assert not out.exists() and not (tmp_path / "x").exists()


def test_no_file_the_edit_reads_is_ever_an_output_even_with_overwrite(tmp_path: Path) -> None:
    clip = make_clip(tmp_path / "a.mp4", duration=1.0, audio=True)
    other = make_clip(tmp_path / "b [2]; 50%.mp4", duration=1.0, audio=True, tone=660)
    seq = tmp_path / "seq.timeline.json"
    assert run_cli("stitch", str(clip), str(other), "-o", str(seq)).returncode == 0
    keep = {p: p.read_bytes() for p in (clip, other)}
    cases = [
        ("voiceover", str(clip), "--audio", str(other), "-o", str(other), "--overwrite"),
        ("music", str(clip), "--track", str(other), "-o", str(other), "--overwrite"),
        ("music", str(seq), "--track", str(clip), "-o", str(tmp_path / "m.mp4"), "--overwrite"),
        ("music", str(seq), "--track", str(clip), "-o", str(other), "--overwrite"),
        ("stitch", str(seq), "-o", str(other), "--overwrite"),
        ("stitch", str(clip), "--snap-to-beats", str(other), "-o", str(other), "--overwrite"),
    ]
    for args in cases:
        r = run_cli(*args)
        expect_ok = args[-2] == str(tmp_path / "m.mp4")
        assert r.returncode == (0 if expect_ok else 2), (args, r.stderr)
        if not expect_ok:
            assert "is also an input" in r.stderr and len(r.stderr.strip().splitlines()) <= 2, (args, r.stderr)
    assert {p: p.read_bytes() for p in (clip, other)} == keep
    r = run_cli("check", str(clip), "--report", str(clip))
    assert r.returncode == 2 and "--report" in r.stderr and "is also an input" in r.stderr
    r = run_cli("reframe", str(clip), "--aspect", "1:1", "--mode", "center", "--preview", str(clip),
                "-o", str(tmp_path / "r.timeline.json"))
    assert r.returncode == 2 and "--preview" in r.stderr
    assert {p: p.read_bytes() for p in (clip, other)} == keep


def test_an_ffmpeg_failure_is_one_line_with_its_cause(tmp_path: Path) -> None:
    from tests.media import write_preset

    clip = make_clip(tmp_path / "a.mp4", duration=0.5)
    write_preset(tmp_path / "presets", "broken", profile="nosuchprofile")  # only the encoder checks it
    out = tmp_path / "out"
    r = run_cli("export", str(clip), "-p", "broken", "-o", str(out), env={"REELFORGE_PRESETS": str(tmp_path / "presets")})
    assert r.returncode == 1, r.stderr
    errors = [ln for ln in r.stderr.splitlines() if not ln.startswith(("loudness:", "warning:"))]
    assert len(errors) == 1 and errors[0].startswith("error: ") and "nosuchprofile" in errors[0], r.stderr
    assert not out.exists() or not any(out.iterdir())
    r = run_cli("--debug", "export", str(clip), "-p", "broken", "-o", str(out), env={"REELFORGE_PRESETS": str(tmp_path / "presets")})
    assert r.returncode == 1 and "Traceback" in r.stderr


def test_an_unwritable_output_folder_is_bad_input_before_any_work(tmp_path: Path) -> None:
    locked = Path("/sys")  # a folder nobody (root included) may create files in
    try:
        (locked / "reelforge-probe").touch()
        pytest.skip("/sys is writable here")
    except OSError:
        pass
    clip = make_clip(tmp_path / "a.mp4", duration=0.5, audio=True)
    cases = [
        ("stitch", str(clip), "-o", str(locked / "o.timeline.json")),
        ("stitch", str(clip), "-o", str(locked / "o.mp4")),
        ("stitch", str(clip), "--no-stream-copy", "-o", str(locked / "o.mp4")),
        ("check", str(clip), "--report", str(locked / "r.html")),
        ("schema", "-o", str(locked / "s.json")),
        ("generate", "--prompt", "a kite", "--duration", "4", "-o", str(locked / "g.mp4")),
    ]
    for args in cases:
        r = run_cli(*args)
        assert r.returncode == 2, (args, r.stderr)
        last = r.stderr.strip().splitlines()[-1]
        assert last.startswith(f"error: {locked}/") and "cannot write there" in last, (args, r.stderr)
        assert "Traceback" not in r.stderr and "partial" not in r.stderr


def test_ctrl_c_mid_render_leaves_nothing_at_the_outputs(tmp_path: Path) -> None:
    """Ctrl-C reaches the whole process group (reelforge and its ffmpeg): exit 130, one
    line, and no file (partial or otherwise) where the outputs would be."""
    import os
    import signal
    import subprocess
    import sys
    import time

    clip = make_clip(tmp_path / "in put.mp4", duration=8.0, audio=True)
    out = tmp_path / "out [1]"
    proc = subprocess.Popen([sys.executable, "-m", "pipeline", "export", str(clip), "-p", "web-preview",
                             "-p", "tiktok", "--speed", "veryslow", "-o", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if out.exists() and any(p.name.startswith(".") and "partial" in p.name for p in out.iterdir()):
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the render finished before it could be interrupted"
    time.sleep(0.5)
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert err.strip().splitlines()[-1] == "interrupted" and "Traceback" not in err
    assert not out.exists() or list(out.iterdir()) == []
    assert clip.exists()


def test_infinite_or_nan_numbers_are_bad_input_naming_the_option(tmp_path: Path) -> None:
    clip = make_clip(tmp_path / "a.mp4", duration=0.5, audio=True)
    out = tmp_path / "o.timeline.json"
    cases = [
        (("voiceover", str(clip), "--audio", str(clip), "--at", "inf", "-o", str(out)), "--at inf"),
        (("music", str(clip), "--track", str(clip), "--start", "nan", "-o", str(out)), "--start nan"),
        (("stitch", str(clip), "--trim-head", "-inf", "-o", str(out)), "--trim-head -inf"),
        (("export", str(clip), "-p", "web-preview", "--thumbnail-at", "inf", "-o", str(tmp_path / "x")), "--thumbnail-at inf"),
        (("generate", "--prompt", "a kite", "--duration", "nan", "-o", str(tmp_path / "g.mp4")), "--duration nan"),
    ]
    for args, named in cases:
        r = run_cli(*args)
        assert r.returncode == 2, (args, r.stderr)
        assert r.stderr.strip() == f"error: {named}: must be a finite number", (args, r.stderr)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.mp4"]


def test_sigterm_mid_render_stops_ffmpeg_and_leaves_no_partial_file(tmp_path: Path) -> None:
    """SIGTERM to reelforge alone (its ffmpeg is not told): ffmpeg is stopped and no
    partial file stays beside the output."""
    import signal
    import subprocess
    import sys
    import time

    clip = make_clip(tmp_path / "in.mp4", duration=8.0, audio=True)
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "pipeline", "export", str(clip), "-p", "tiktok",
                             "--speed", "veryslow", "-o", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if out.exists() and any("partial" in p.name for p in out.iterdir()):
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the render finished before it could be stopped"
    time.sleep(0.5)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode != 0 and "Traceback" not in err
    time.sleep(1.0)  # an orphaned ffmpeg would still be writing its partial file now
    assert not out.exists() or list(out.iterdir()) == []


def test_multi_line_messages_are_printed_as_one_line() -> None:
    """A provider's error body or an unexpected exception may carry newlines: the user
    still gets one line (the contract), the full text with --debug."""
    import click
    from click.testing import CliRunner

    from pipeline.cli.kit import handle_errors
    from pipeline.errors import ProviderError

    @click.command()
    @click.option("--kind")
    @handle_errors
    def boom(kind: str) -> None:
        if kind == "provider":
            raise ProviderError("sora: HTTP 500:\n<html>\n  oops\n</html>")
        raise ValueError("first\nsecond")

    for kind, want in (("provider", "error: sora: HTTP 500: <html> oops </html>"),
                       ("bug", "error: internal error: ValueError: first second (run with --debug for details)")):
        r = CliRunner().invoke(boom, ["--kind", kind])
        assert r.exit_code == 1
        assert r.output.strip() == want, r.output
