"""Video encoder choice, in one place: libx264 by default; a hardware H.264 encoder (NVENC,
Quick Sync, VA-API) only when the ffmpeg build lists it AND a test encode on this machine,
with exactly the device, upload and options a render will use, works (a build can list an
encoder without the GPU or driver it needs). A machine with a GPU needs no code change."""

from __future__ import annotations

import dataclasses
import functools
import glob
from dataclasses import dataclass
from typing import Callable

from pipeline.errors import InputError, RenderError
from pipeline.progress import Reporter
from pipeline.render.settings import OutputSettings


@dataclass(frozen=True)
class Hardware:
    """A hardware H.264 encoder and what a render needs to use it."""

    name: str  # the ffmpeg encoder
    label: str  # what a user calls it
    device: Callable[[], tuple[str, ...] | None]  # global options opening the device; None: no device here
    upload: tuple[tuple[str, str], ...] = ()  # filters (name, argument) handing frames to the encoder
    quality: str | None = None  # the option that takes the CRF value (its constant-quality mode)


def _no_device() -> tuple[str, ...]:
    return ()


def _render_node() -> str | None:
    nodes = sorted(glob.glob("/dev/dri/renderD*"))
    return nodes[0] if nodes else None


def _vaapi_device() -> tuple[str, ...] | None:
    node = _render_node()
    return ("-init_hw_device", f"vaapi=rfva:{node}", "-filter_hw_device", "rfva") if node else None


def _qsv_device() -> tuple[str, ...] | None:
    return ("-init_hw_device", "qsv=rfqsv", "-filter_hw_device", "rfqsv")


# Tried in this order by --encoder auto. NVENC takes system-memory frames and its quality
# options come from OutputSettings (cq, VBR). Quick Sync and VA-API get their frames
# uploaded to the device; CRF becomes their quality option, from which each picks its
# rate control (ICQ or CQP; VBR when a bit rate is set).
HARDWARE: tuple[Hardware, ...] = (
    Hardware("h264_nvenc", "NVENC", _no_device),
    Hardware("h264_qsv", "Quick Sync", _qsv_device, (("format", "nv12"), ("hwupload", "extra_hw_frames=64")),
             "global_quality"),
    Hardware("h264_vaapi", "VA-API", _vaapi_device, (("format", "nv12"), ("hwupload", "")), "qp"),
)
BY_NAME = {hw.name: hw for hw in HARDWARE}
ENCODERS = ("auto", "libx264", *BY_NAME)


def trial_argv(hw: Hardware) -> list[str] | None:
    """The test encode of `hw`: a fifth of a second, through the device and upload a render
    uses; None when the machine has no device for it."""
    from pipeline.ffmpeg import preamble

    device = hw.device()
    if device is None:
        return None
    upload = ",".join(f"{name}={arg}" if arg else name for name, arg in hw.upload)
    quality = [f"-{hw.quality}", "23"] if hw.quality else []
    return [*preamble(overwrite=False), *device, "-f", "lavfi", "-i", "testsrc2=s=256x144:r=30:d=0.2",
            *(["-vf", upload] if upload else []), "-c:v", hw.name, *quality, "-f", "null", "-"]


@functools.lru_cache(maxsize=None)
def works(name: str) -> bool:
    """True when ffmpeg lists the encoder `name` and a test encode with it works here."""
    from pipeline.ffmpeg import ffmpeg_capabilities, run_ffmpeg_quiet

    encoders, _ = ffmpeg_capabilities()
    hw = BY_NAME.get(name)
    if hw is None or name not in encoders:
        return False
    argv = trial_argv(hw)
    if argv is None:
        return False
    try:
        run_ffmpeg_quiet(argv, f"{hw.label} test encode", timeout=30)
    except (OSError, RenderError):
        return False
    return True


def nvenc_works() -> bool:
    """True when ffmpeg lists h264_nvenc and can encode a few frames with it here."""
    return works("h264_nvenc")


def choose_encoder(requested: str, reporter: Reporter | None = None) -> str:
    """The H.264 encoder to use for `requested`: auto (the first hardware encoder that works,
    else libx264), libx264, or one hardware encoder (libx264 with a warning when it does
    not work here)."""
    if requested not in ENCODERS:
        raise InputError(f"--encoder {requested}: not one of {', '.join(ENCODERS)}")
    if requested == "libx264":
        return "libx264"
    if requested == "auto":
        return next((hw.name for hw in HARDWARE if works(hw.name)), "libx264")
    if works(requested):
        return requested
    if reporter is not None:
        reporter.warn(f"--encoder {requested}: {BY_NAME[requested].label} is not available or not working here; "
                      "using libx264")
    return "libx264"


def with_encoder(settings: OutputSettings, encoder: str) -> OutputSettings:
    """Settings moved to another H.264 encoder (only H.264 presets are switched), with the
    device, upload and quality options that encoder needs."""
    h264 = ("libx264", *BY_NAME)
    if settings.video_codec not in h264 or settings.video_codec == encoder:
        return settings
    hw = BY_NAME.get(encoder)
    if hw is None:
        return dataclasses.replace(settings, video_codec=encoder, hw_device=(), hw_upload=(), hw_quality=None)
    return dataclasses.replace(settings, video_codec=encoder, hw_device=hw.device() or (), hw_upload=hw.upload,
                               hw_quality=hw.quality)
