"""Hardware encoders (NVENC, Quick Sync, VA-API) are used only when a real test encode
works here; otherwise x264. This machine has no GPU: the fallback is what runs."""

from __future__ import annotations

import subprocess
from fractions import Fraction
from pathlib import Path

import pytest

from pipeline.delivery.encoders import HARDWARE, choose_encoder, trial_argv, with_encoder, works
from pipeline.ffmpeg import ffmpeg_capabilities, ffmpeg_exe
from pipeline.model.media import probe
from pipeline.render.settings import OutputSettings
from tests.conftest import run_cli
from tests.media import make_clip

DEVICE_ENCODE = {  # an encode with each, written by hand the way its ffmpeg documentation shows
    "h264_nvenc": ["-f", "lavfi", "-i", "testsrc2=s=256x144:r=30:d=0.2", "-c:v", "h264_nvenc"],
    "h264_qsv": ["-init_hw_device", "qsv=hw", "-filter_hw_device", "hw", "-f", "lavfi",
                 "-i", "testsrc2=s=256x144:r=30:d=0.2", "-vf", "format=nv12,hwupload=extra_hw_frames=64",
                 "-c:v", "h264_qsv"],
    "h264_vaapi": ["-vaapi_device", "/dev/dri/renderD128", "-f", "lavfi", "-i", "testsrc2=s=256x144:r=30:d=0.2",
                   "-vf", "format=nv12,hwupload", "-c:v", "h264_vaapi"],
}


def really_works(name: str, tmp_path: Path) -> bool:
    """Whether `name` encodes a real file here, found without the code under test."""
    out = tmp_path / f"{name}.mp4"
    r = subprocess.run([ffmpeg_exe(), "-nostdin", "-v", "error", "-y", *DEVICE_ENCODE[name], str(out)],
                       capture_output=True)
    return r.returncode == 0 and probe(out).v.codec == "h264" and probe(out).v.frames == 6


@pytest.mark.parametrize("name", [hw.name for hw in HARDWARE])
def test_each_hardware_encoder_is_used_exactly_when_it_encodes_here(name: str, tmp_path: Path) -> None:
    real = really_works(name, tmp_path)
    assert works(name) == real
    assert choose_encoder(name) == (name if real else "libx264")
    if name in ffmpeg_capabilities()[0] and not real:
        # the build lists it, the machine cannot run it: the trial encode is what tells
        argv = trial_argv(next(hw for hw in HARDWARE if hw.name == name))
        assert argv is None or subprocess.run(argv, capture_output=True).returncode != 0


def test_auto_picks_the_first_working_hardware_encoder_else_x264(tmp_path: Path) -> None:
    real = [hw.name for hw in HARDWARE if really_works(hw.name, tmp_path)]
    assert choose_encoder("auto") == (real[0] if real else "libx264")
    assert choose_encoder("libx264") == "libx264"


def test_a_device_encoder_gets_its_device_upload_and_quality_in_the_command(tmp_path: Path) -> None:
    from pipeline.model.clips import timeline_from_media
    from pipeline.render.graph import OutputJob, build_jobs_argv

    src = make_clip(tmp_path / "a.mp4", duration=0.5)
    tl = timeline_from_media([src])
    base = OutputSettings(width=320, height=180, fps=Fraction(30), crf=24)
    vaapi = with_encoder(base, "h264_vaapi")
    argv = build_jobs_argv([OutputJob(tl, vaapi, tmp_path / "o.mp4")])
    graph = argv[argv.index("-filter_complex") + 1].split(";")
    video = argv[argv.index("-map") + 1]  # the label the encoder reads: the upload's output
    assert [f for f in graph if f.endswith(video)][0].split("]")[1].startswith("hwupload"), graph
    assert any("]format=nv12[" in f for f in graph)
    assert argv.index("-c:v") > argv.index("-filter_complex") and argv[argv.index("-c:v") + 1] == "h264_vaapi"
    assert argv[argv.index("-qp") + 1] == "24" and "-crf" not in argv and "-pix_fmt" not in argv
    if vaapi.hw_device:  # a render node exists: it is opened before the inputs
        assert argv.index("-init_hw_device") < argv.index("-i")
    back = with_encoder(vaapi, "libx264")
    assert back.hw_upload == () and "-crf" in [f"-{k}" for k in back.video_args()]


def test_export_asking_for_a_missing_encoder_warns_and_writes_h264(tmp_path: Path) -> None:
    if really_works("h264_vaapi", tmp_path):
        pytest.skip("VA-API works on this machine: there is no fallback to see")
    src = make_clip(tmp_path / "a.mp4", duration=0.5, audio=True)
    r = run_cli("export", str(src), "-p", "web-preview", "--encoder", "h264_vaapi", "--speed", "ultrafast",
                "-o", str(tmp_path / "out"))
    assert r.returncode == 0, r.stderr
    assert "--encoder h264_vaapi: VA-API is not available or not working here; using libx264" in r.stderr
    assert probe(tmp_path / "out" / "a.web-preview.mp4").v.codec == "h264"
