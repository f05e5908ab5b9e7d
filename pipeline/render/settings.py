"""Output settings: what one rendered file looks like. Built from a preset or by hand."""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any


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
    extra: dict[str, Any] = field(default_factory=dict)

    def encoder_args(self) -> dict[str, Any]:
        """ffmpeg output options (ffmpeg-python keyword form)."""
        args: dict[str, Any] = {"c:v": self.video_codec, "pix_fmt": self.pix_fmt}
        if self.video_codec in ("libx264", "libx265"):
            args["preset"] = self.x264_preset
        if self.crf is not None:
            if self.video_codec.endswith("_nvenc"):
                args["cq"] = self.crf
            elif self.video_codec in ("libx264", "libx265", "libvpx-vp9"):
                args["crf"] = self.crf
        if self.video_codec.startswith("prores"):
            args.pop("pix_fmt", None)
            args["pix_fmt"] = self.pix_fmt
        if self.maxrate:
            args["maxrate"] = self.maxrate
        if self.bufsize:
            args["bufsize"] = self.bufsize
        if self.profile and not self.video_codec.startswith("prores"):
            args["profile:v"] = self.profile
        elif self.profile:
            args["profile:v"] = self.profile
        if self.level:
            args["level:v"] = self.level
        if self.gop:
            args["g"] = self.gop
        args["c:a"] = self.audio_codec
        if self.audio_bitrate and self.audio_codec not in ("pcm_s16le", "pcm_s24le", "flac"):
            args["b:a"] = self.audio_bitrate
        args["ar"] = self.sample_rate
        args["ac"] = self.channels
        if self.faststart:
            args["movflags"] = "+faststart"
        args["fps_mode"] = "cfr"
        args.update(self.extra)
        return args
