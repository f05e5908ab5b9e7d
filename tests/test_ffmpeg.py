"""pipeline.ffmpeg, the one door to ffmpeg: the preamble, the frame and sample pipes, the
ebur128 parser, and file names ffmpeg would read as protocols (`file:`, `x:`, `concat:`).
Through the CLI: probe and check on such names (stitch and export: test_stitch, test_export)."""

from __future__ import annotations

import ast
import json
import time
from pathlib import Path

import pytest

from pipeline.errors import RenderError
from tests.media import (DECOY_SECONDS, PLAIN_FPS, PLAIN_OFFSET_MS, PLAIN_SECONDS, PROTOCOL_NAMES, ffmpeg,
                         protocol_named_clips)

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def named(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return protocol_named_clips(tmp_path_factory.mktemp("names"))


# ---- the door ----------------------------------------------------------------------------
def test_only_pipeline_ffmpeg_imports_subprocess() -> None:
    """Every ffmpeg process starts in pipeline/ffmpeg.py: no other engine or stage module
    imports subprocess."""
    users = []
    for path in sorted([*(ROOT / "pipeline").rglob("*.py"), *(ROOT / "stages").rglob("*.py")]):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            if any(n.split(".")[0] == "subprocess" for n in names):
                users.append(str(path.relative_to(ROOT)))
    assert sorted(set(users)) == ["pipeline/ffmpeg.py"]


def test_preamble_and_graph_commands_start_the_same_way(tmp_path: Path) -> None:
    import ffmpeg as ffmpeg_python

    from pipeline.ffmpeg import ffmpeg_exe, graph_argv, preamble, run_ffmpeg_quiet

    head = preamble()
    assert head[0] == ffmpeg_exe() and {"-hide_banner", "-nostdin", "-nostats", "-y"} <= set(head)
    assert "-progress" not in head and preamble(progress=True)[-2:] == ["-progress", "pipe:1"]
    assert "-y" not in preamble(overwrite=False)
    out = tmp_path / "tone.wav"
    node = ffmpeg_python.input("sine=f=440:d=0.5", f="lavfi").output(str(out), ar=8000)
    argv = graph_argv(node)
    assert argv[: len(head)] == head
    out.write_bytes(b"stale")  # -y: the temporary file ffmpeg writes may already exist
    run_ffmpeg_quiet(argv)
    from pipeline.model.media import probe

    assert abs(float(probe(out).duration) - 0.5) < 0.01


def test_media_path_names_the_file_never_a_protocol(named: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pipeline.ffmpeg import media_path

    monkeypatch.chdir(named)
    for name in PROTOCOL_NAMES:
        got = media_path(name)
        assert got.startswith("/") and Path(got) == named / name
    assert media_path(named / "plain.mp4") == str(named / "plain.mp4")


def test_pipes_and_loudness_read_the_file_with_that_very_name(named: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Relative names that look like protocols: the sample pipe, the frame pipe and both
    ebur128 readings measure the file itself (4 s), not the decoy z.mp4 (2 s), and do not
    fail with "Protocol not found"."""
    from pipeline.analysis.audio import decode_audio
    from pipeline.analysis.frames import read_frames
    from pipeline.analysis.loudness import measure_file
    from stages.check.report import loudness_curve

    monkeypatch.chdir(named)
    plain = measure_file("plain.mp4")
    decoy = measure_file("z.mp4")
    assert plain.integrated_lufs is not None and decoy.integrated_lufs is not None
    assert abs(plain.integrated_lufs - decoy.integrated_lufs) > 2  # the decoy is told apart
    for name in PROTOCOL_NAMES:
        samples = decode_audio(name, sample_rate=8000)
        assert abs(samples.size / 8000 - PLAIN_SECONDS) < 0.1, name
        frames = list(read_frames(name, width=80, fps=5))
        assert len(frames) == PLAIN_SECONDS * 5, name
        assert measure_file(name) == plain, name
        curve = loudness_curve(name)
        assert abs(curve[-1][0] - PLAIN_SECONDS) < 0.2, name
    assert decode_audio("z.mp4", sample_rate=8000).size / 8000 < DECOY_SECONDS + 0.1


def test_frame_pipe_stops_ffmpeg_when_the_reader_stops() -> None:
    from pipeline.ffmpeg import frame_pipe

    t0 = time.monotonic()
    pipe = frame_pipe(["-f", "lavfi", "-i", "testsrc2=s=64x36:r=25:d=600"], (36, 64, 3), what="testsrc")
    first = next(pipe)
    pipe.close()  # ten minutes of frames are never decoded
    assert first.shape == (36, 64, 3) and first.dtype.name == "uint8" and first.std() > 10
    assert time.monotonic() - t0 < 10
    gray = list(frame_pipe(["-f", "lavfi", "-i", "testsrc2=s=64x36:r=25:d=1"], (36, 64), what="testsrc"))
    assert len(gray) == 25 and gray[0].shape == (36, 64)


def test_frame_pipe_failure_names_what_it_read(tmp_path: Path) -> None:
    from pipeline.ffmpeg import frame_pipe, media_path

    bad = tmp_path / "notes.mp4"
    bad.write_text("not a video")
    with pytest.raises(RenderError, match="notes.mp4: could not decode frames"):
        list(frame_pipe(["-i", media_path(bad)], (36, 64), what=str(bad)))


def test_one_ebur128_parser_reads_summary_and_frame_log(tmp_path: Path) -> None:
    """A 997 Hz sine at half scale on both channels is -6.02 LUFS (ITU-R BS.1770-4: a
    full-scale 997 Hz sine in one channel reads -3.01 LKFS) with a true peak of -6.02 dBTP."""
    from pipeline.ffmpeg import ebur128, media_path

    wav = tmp_path / "sine.wav"
    ffmpeg("-f", "lavfi", "-i", "aevalsrc=0.5*sin(2*PI*997*t)|0.5*sin(2*PI*997*t):s=48000:d=3",
           "-c:a", "pcm_f32le", str(wav))
    summary = ebur128(["-i", media_path(wav)])
    assert summary.integrated_lufs == pytest.approx(-6.02, abs=0.1)
    assert summary.true_peak_dbtp == pytest.approx(-6.02, abs=0.1)
    assert summary.lra_lu is not None and summary.frames == ()
    log = ebur128(["-i", media_path(wav)], true_peak=False, per_frame=True)
    assert len(log.frames) == 30 and log.frames[-1][0] == pytest.approx(3.0, abs=0.01)
    # momentary needs 400 ms of sound, short-term 3 s: before that they are not levels
    assert log.frames[0][1] is None and log.frames[3][1] == pytest.approx(-6.02, abs=0.1)
    assert log.frames[-2][2] is None
    assert log.frames[-1][1] == pytest.approx(-6.02, abs=0.1) and log.frames[-1][2] == pytest.approx(-6.02, abs=0.1)
    assert log.true_peak_dbtp is None  # not asked for
    silent = tmp_path / "silence.wav"
    ffmpeg("-f", "lavfi", "-i", "anullsrc=r=48000:cl=stereo", "-t", "1", str(silent))
    assert ebur128(["-i", media_path(silent)]).integrated_lufs is None
    with pytest.raises(RenderError, match="loudness measurement failed"):
        ebur128(["-i", media_path(tmp_path / "missing.wav")])
    assert ebur128(["-i", media_path(tmp_path / "missing.wav")], strict=False).frames == ()


# ---- through the CLI ---------------------------------------------------------------------
def test_probe_json_on_protocol_like_names(named: Path, cli) -> None:
    for name in PROTOCOL_NAMES:
        r = cli("probe", name, "--json", cwd=named)
        assert r.returncode == 0, r.stderr
        doc = json.loads(r.stdout)
        assert float(doc["duration"]) == PLAIN_SECONDS, name


def test_check_measures_the_file_with_that_very_name(named: Path, cli) -> None:
    """`check file:z.mp4` once measured z.mp4; `check x:y.mp4` and `check concat:a|b.mp4`
    failed with "Protocol not found" and printed no JSON."""
    plain = json.loads(cli("check", "plain.mp4", "--json", cwd=named).stdout)
    assert abs(plain["av_offset_ms"] - PLAIN_OFFSET_MS) <= 1000 / PLAIN_FPS
    for name in PROTOCOL_NAMES:
        r = cli("check", name, "--json", cwd=named)
        assert r.returncode == 1, r.stderr  # 200 ms early fails the ITU window: a verdict, not an error
        doc = json.loads(r.stdout)
        assert doc["input"] == name
        for key in ("av_offset_ms", "integrated_lufs", "true_peak_dbtp", "duration_s", "duration_delta_ms"):
            assert doc[key] == plain[key], (name, key)
    r = cli("check", "concat:a|b.mp4", "--report", "x:report.html", cwd=named)
    assert r.returncode == 1, r.stderr
    page = (named / "x:report.html").read_text(encoding="utf-8")
    assert f"Loudness over {PLAIN_SECONDS:.1f} s" in page  # the curve of the 4 s file
    assert page.count("<img ") >= 6  # the contact sheet read its frames


def test_check_fix_builds_its_output_from_that_very_file(named: Path, cli, tmp_path: Path) -> None:
    from pipeline.model.media import probe
    from tests.media import stream_durations

    out = tmp_path / "concat:fixed|1.mp4"
    r = cli("check", "file:z.mp4", "--fix", "-o", str(out), cwd=named)
    assert r.returncode == 1, r.stderr  # the input fails; the fixed copy is written
    video, audio = stream_durations(out)
    assert video == PLAIN_SECONDS and audio is not None and abs(audio - video) < 0.05
    assert probe(out).duration >= PLAIN_SECONDS > DECOY_SECONDS
    doc = json.loads(cli("check", out.name, "--json", cwd=tmp_path).stdout)
    assert doc["passed"] and abs(doc["av_offset_ms"]) <= 1000 / PLAIN_FPS
    assert [p.name for p in tmp_path.iterdir()] == [out.name]  # nothing else written beside it


def test_a_render_started_after_stop_running_is_killed_at_once(tmp_path: Path) -> None:
    """An interrupted run's worker can be between checking for the interruption and
    starting ffmpeg when stop_running() sweeps: that render must not run to its end."""
    from pipeline.ffmpeg import ffmpeg_exe, preamble, resume_running, run_ffmpeg, stop_running

    out = tmp_path / "long.mp4"
    argv = [*preamble(progress=True), "-f", "lavfi", "-i", "testsrc2=s=640x360:r=30:d=60", "-c:v", "libx264",
            "-preset", "veryslow", str(out)]
    stop_running()
    try:
        started = time.monotonic()
        with pytest.raises(RenderError):
            run_ffmpeg(argv, 60.0, label="late render")
        assert time.monotonic() - started < 10  # killed, not encoded for a minute
    finally:
        resume_running()
    # after resume_running renders run again
    short = [*preamble(progress=True), "-f", "lavfi", "-i", "testsrc2=s=64x36:r=10:d=0.5", str(tmp_path / "ok.mp4")]
    run_ffmpeg(short, 0.5, label="render")
    assert (tmp_path / "ok.mp4").stat().st_size > 0
