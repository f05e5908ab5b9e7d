"""Video encoder choice: libx264 by default; h264_nvenc only when the ffmpeg build has it
AND a test encode on this machine works (a build can list NVENC without a GPU or driver)."""

from __future__ import annotations

import dataclasses
import functools

from pipeline.errors import InputError, RenderError
from pipeline.progress import Reporter
from pipeline.render.settings import OutputSettings

ENCODERS = ("auto", "libx264", "h264_nvenc")


@functools.lru_cache(maxsize=None)
def nvenc_works() -> bool:
    """True when ffmpeg lists h264_nvenc and can encode a few frames with it here."""
    from pipeline.ffmpeg import ffmpeg_capabilities, preamble, run_ffmpeg_quiet

    encoders, _ = ffmpeg_capabilities()
    if "h264_nvenc" not in encoders:
        return False
    argv = [*preamble(overwrite=False), "-f", "lavfi", "-i", "testsrc2=s=256x144:r=30:d=0.2",
            "-c:v", "h264_nvenc", "-f", "null", "-"]
    try:
        run_ffmpeg_quiet(argv, "NVENC test encode", timeout=30)
    except (OSError, RenderError):
        return False
    return True


def choose_encoder(requested: str, reporter: Reporter | None = None) -> str:
    """The H.264 encoder to use for `requested` (auto, libx264, h264_nvenc)."""
    if requested not in ENCODERS:
        raise InputError(f"--encoder {requested}: not one of {', '.join(ENCODERS)}")
    if requested == "libx264":
        return "libx264"
    if nvenc_works():
        return "h264_nvenc"
    if requested == "h264_nvenc" and reporter is not None:
        reporter.warn("--encoder h264_nvenc: NVENC is not available or not working here; using libx264")
    return "libx264"


def with_encoder(settings: OutputSettings, encoder: str) -> OutputSettings:
    """Settings moved to another H.264 encoder (only H.264 presets are switched)."""
    if settings.video_codec not in ("libx264", "h264_nvenc") or settings.video_codec == encoder:
        return settings
    return dataclasses.replace(settings, video_codec=encoder)
