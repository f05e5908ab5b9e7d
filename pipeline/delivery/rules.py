"""The delivery rules: what a file must meet to go out under a platform preset. Export
verification (pipeline.delivery.verify) and `check --preset` (stages/check) both judge by
these functions; each only words the verdict its own way."""

from __future__ import annotations

from fractions import Fraction

# Encoder name -> the codec name a probe reports.
CODEC_NAMES = {"libx264": "h264", "h264_nvenc": "h264", "libx265": "hevc", "hevc_nvenc": "hevc",
               "libvpx-vp9": "vp9", "libaom-av1": "av1", "libsvtav1": "av1", "prores_ks": "prores",
               "aac": "aac", "libopus": "opus"}
# Loudness and true peak are reported with one decimal: a peak passes when its shown
# figure does not exceed the ceiling (-0.96 dBTP shows as -1.0 and passes a -1.0 ceiling).
TRUE_PEAK_MARGIN_DB = 0.05
LOUDNESS_TOLERANCE_LU = 1.0  # a preset may set its own (loudness_tolerance_lu)


def codec_name(encoder: str) -> str:
    """The codec a probe reports for what `encoder` writes."""
    return CODEC_NAMES.get(encoder, encoder)


def picture_size_ok(size: tuple[int, int], want: tuple[int, int]) -> bool:
    """The shown picture size is exactly the preset's."""
    return tuple(size) == tuple(want)


def codec_ok(codec: str, encoder: str) -> bool:
    return codec == codec_name(encoder)


def frame_rate_ok(fps: Fraction, max_fps: Fraction) -> bool:
    return fps <= max_fps


def duration_ok(seconds: float | Fraction, max_duration: float | None, fps: Fraction) -> bool:
    """At most the preset's longest duration; a file may run one frame past it (its last
    frame's display time, and codec padding, count toward the container's length)."""
    return max_duration is None or float(seconds) <= max_duration + float(1 / fps)


def file_size_ok(size_bytes: int, max_size_mb: float | None) -> bool:
    return max_size_mb is None or size_bytes / 1e6 <= max_size_mb


def loudness_ok(lufs: float | None, target: float | None, tolerance: float = LOUDNESS_TOLERANCE_LU) -> bool:
    """Integrated loudness within `tolerance` LU of the target. Silence (too quiet for the
    BS.1770 gate to measure) passes: there is nothing to be too loud or wrongly normalised."""
    return target is None or lufs is None or abs(lufs - target) <= tolerance


def true_peak_ok(dbtp: float | None, ceiling: float | None) -> bool:
    return ceiling is None or dbtp is None or dbtp <= ceiling + TRUE_PEAK_MARGIN_DB
