"""Output settings: what one rendered file looks like. Built from a preset or by hand."""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from pipeline.errors import InputError

# x264 speed names -> the nearest NVENC preset (p1 fastest .. p7 slowest).
_NVENC_PRESETS = {"ultrafast": "p1", "superfast": "p1", "veryfast": "p2", "faster": "p3", "fast": "p4",
                  "medium": "p5", "slow": "p6", "slower": "p7", "veryslow": "p7", "placebo": "p7"}


@dataclass(frozen=True)
class OutputSettings:
    width: int
    height: int
    fps: Fraction
    video_codec: str = "libx264"
    x264_preset: str = "medium"
    crf: int | None = 20
    maxrate: str | None = None
    bufsize: str | None = None
    pix_fmt: str = "yuv420p"
    profile: str | None = "high"
    level: str | None = None
    gop: int | None = None
    audio_codec: str = "aac"
    audio_bitrate: str = "192k"
    sample_rate: int = 48000
    channels: int = 2
    faststart: bool = True
    loudness_lufs: float | None = None
    true_peak_dbtp: float | None = None
    # Decided by export's loudness plan (pipeline.loudness), applied by render.tracks.master:
    audio_gain_db: float = 0.0  # linear gain to reach loudness_lufs
    limiter_dbtp: float | None = None  # true-peak limiter ceiling, only where needed
    limiter_release_ms: float = 80.0  # shorter only where quiet, peaky sound needs it
    limiter_band_hz: float | None = None  # band limit around the limiter, a last resort
    extra: dict[str, Any] = field(default_factory=dict)
    # Average video rate (two-pass / capped outputs); when set, crf is ignored.
    video_bitrate: str | None = None
    # Two-pass encoding: 1 (analysis, no file) or 2 (final), with the statistics file stem.
    pass_num: int | None = None
    passlogfile: str | None = None
    # A hardware encoder (pipeline.delivery.encoders decides): global options opening its
    # device, the filters (name, argument) uploading frames to it, the option taking CRF.
    hw_device: tuple[str, ...] = ()
    hw_upload: tuple[tuple[str, str], ...] = ()
    hw_quality: str | None = None

    @property
    def is_nvenc(self) -> bool:
        return self.video_codec.endswith("_nvenc")

    @property
    def is_hardware(self) -> bool:
        """A hardware encoder: one pass, rate capped by its own VBR."""
        return self.is_nvenc or bool(self.hw_upload) or self.hw_quality is not None

    def video_args(self) -> dict[str, Any]:
        """Video encoder options (ffmpeg-python keyword form)."""
        args: dict[str, Any] = {"c:v": self.video_codec}
        if not self.hw_upload:  # uploaded frames are in the device's own format
            args["pix_fmt"] = self.pix_fmt
        if self.video_codec in ("libx264", "libx265"):
            args["preset"] = self.x264_preset
        elif self.is_nvenc:
            args["preset"] = _NVENC_PRESETS.get(self.x264_preset, "p5")
            args["rc"] = "vbr"
        if self.video_bitrate:
            args["b:v"] = self.video_bitrate
        elif self.crf is not None:
            if self.is_nvenc:
                args["cq"] = self.crf
                args["b:v"] = 0
            elif self.video_codec in ("libx264", "libx265", "libvpx-vp9"):
                args["crf"] = self.crf
            elif self.hw_quality:
                args[self.hw_quality] = self.crf
        if self.maxrate:
            args["maxrate"] = self.maxrate
        if self.bufsize:
            args["bufsize"] = self.bufsize
        if self.profile:
            args["profile:v"] = self.profile
        if self.level:
            args["level:v"] = self.level
        if self.gop:
            args["g"] = self.gop
        if self.pass_num and not self.is_hardware:
            args["pass"] = self.pass_num
            if self.passlogfile:
                args["passlogfile"] = self.passlogfile
        args["fps_mode"] = "cfr"
        return args

    def audio_args(self) -> dict[str, Any]:
        args: dict[str, Any] = {"c:a": self.audio_codec}
        if self.audio_bitrate and self.audio_codec not in ("pcm_s16le", "pcm_s24le", "flac"):
            args["b:a"] = self.audio_bitrate
        args["ar"] = self.sample_rate
        args["ac"] = self.channels
        return args

    def encoder_args(self) -> dict[str, Any]:
        """ffmpeg output options (ffmpeg-python keyword form)."""
        args = {**self.video_args(), **self.audio_args()}
        if self.faststart:
            args["movflags"] = "+faststart"
        args.update(self.extra)
        return args


def parse_rate(rate: str | int | float | None) -> float | None:
    """'12M' / '192k' / 8000000 -> bits per second."""
    if rate is None or rate == "":
        return None
    if isinstance(rate, (int, float)):
        return float(rate)
    text = str(rate).strip()
    scale = {"k": 1e3, "K": 1e3, "m": 1e6, "M": 1e6, "g": 1e9, "G": 1e9}.get(text[-1:], 1.0)
    number = text[:-1] if scale != 1.0 else text
    try:
        return float(number) * scale
    except ValueError:
        raise InputError(f"invalid bit rate '{rate}'") from None
