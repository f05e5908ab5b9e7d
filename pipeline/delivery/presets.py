"""Platform presets as data: presets/*.toml inside the package, plus the user's folder."""

from __future__ import annotations

import dataclasses
import sys
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

from pipeline.errors import InputError, did_you_mean
from pipeline.files import user_presets_dir

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


@dataclass(frozen=True)
class Preset:
    name: str
    description: str
    platform: str
    aspect: str
    width: int
    height: int
    max_fps: Fraction
    video_codec: str = "libx264"
    x264_preset: str = "medium"
    crf: int | None = 20
    maxrate: str | None = None
    bufsize: str | None = None
    pix_fmt: str = "yuv420p"
    profile: str | None = "high"
    level: str | None = None
    gop_seconds: float | None = 2.0
    audio_codec: str = "aac"
    audio_bitrate: str = "192k"
    sample_rate: int = 48000
    channels: int = 2
    loudness_lufs: float | None = -14.0
    true_peak_dbtp: float | None = -1.0
    max_duration: float | None = None
    max_size_mb: float | None = None
    container: str = "mp4"
    # Safe area: fractions of the frame that platform UI covers (top, bottom, left, right);
    # burned-in captions stay inside the rest.
    safe_top: float = 0.05
    safe_bottom: float = 0.05
    safe_left: float = 0.05
    safe_right: float = 0.05
    loudness_tolerance_lu: float = 1.0
    spec: str = ""  # the published specification the numbers follow
    source: str = "builtin"
    extra: dict[str, Any] = field(default_factory=dict)

    def settings(self, timeline_fps: Fraction):  # noqa: ANN201 - avoids an import cycle
        """OutputSettings for a timeline at `timeline_fps` (capped at the preset's max)."""
        from pipeline.render.settings import OutputSettings

        fps = output_fps(timeline_fps, self.max_fps)
        gop = int(round(float(fps) * self.gop_seconds)) if self.gop_seconds else None
        # Every field the two share by name is copied (codecs, rate control, audio, loudness).
        shared = {f.name: getattr(self, f.name) for f in dataclasses.fields(OutputSettings) if f.name in _FIELDS}
        return OutputSettings(**{**shared, "fps": fps, "gop": gop, "extra": dict(self.extra)})

    @property
    def aspect_ratio(self) -> Fraction:
        """width / height of the preset's frame."""
        return Fraction(self.width, self.height)

    def safe_box(self) -> tuple[int, int, int, int]:
        """(x, y, width, height) of the area platform UI leaves clear, in pixels."""
        x = int(round(self.width * self.safe_left))
        y = int(round(self.height * self.safe_top))
        w = self.width - x - int(round(self.width * self.safe_right))
        h = self.height - y - int(round(self.height * self.safe_bottom))
        return x, y, w, h

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["max_fps"] = float(self.max_fps) if self.max_fps.denominator != 1 else int(self.max_fps)
        return d


def output_fps(timeline_fps: Fraction, max_fps: Fraction) -> Fraction:
    """The timeline's rate, or when it is above the preset's maximum, the largest whole
    division of it that fits (60 -> 30, 50 -> 25, 59.94 -> 29.97), so frames drop evenly;
    the maximum itself when no division lands within 20% of it."""
    if timeline_fps <= max_fps:
        return timeline_fps
    k = 2
    while timeline_fps / k > max_fps:
        k += 1
    divided = timeline_fps / k
    return divided if divided >= max_fps * Fraction(4, 5) else max_fps


_FIELDS = {f.name for f in dataclasses.fields(Preset)}


def _builtin_dir() -> Path:
    import presets

    return Path(presets.__file__).parent


def _read_folder(folder: Path, source: str) -> dict[str, dict[str, Any]]:
    raw: dict[str, dict[str, Any]] = {}
    if not folder.is_dir():
        return raw
    for path in sorted(folder.glob("*.toml")):
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise InputError(f"{path}: invalid preset file ({exc})") from None
        name = data.get("name", path.stem)
        data["name"] = name
        data["source"] = source if source == "builtin" else str(path)
        data["_path"] = str(path)
        raw[name] = data
    return raw


def _resolve(name: str, raw: dict[str, dict[str, Any]], chain: tuple[str, ...] = ()) -> dict[str, Any]:
    if name in chain:
        raise InputError(f"preset {name}: 'extends' forms a loop ({' -> '.join(chain + (name,))})")
    data = dict(raw[name])
    parent = data.pop("extends", None)
    if parent:
        if parent not in raw:
            raise InputError(f"{data.get('_path', name)}: extends unknown preset '{parent}'")
        base = _resolve(parent, raw, chain + (name,))
        merged = {**base, **data}
        if "extra" in base or "extra" in data:
            merged["extra"] = {**base.get("extra", {}), **data.get("extra", {})}
        data = merged
    return data


def _build(data: dict[str, Any]) -> Preset:
    where = data.get("_path", data.get("name"))
    body = {k: v for k, v in data.items() if not k.startswith("_")}
    unknown = set(body) - _FIELDS
    if unknown:
        raise InputError(f"{where}: unknown preset key(s): {', '.join(sorted(unknown))}")
    try:
        body["max_fps"] = Fraction(str(body.get("max_fps", 60)))
        preset = Preset(**body)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{where}: invalid preset ({exc})") from None
    if preset.width % 2 or preset.height % 2 or preset.width <= 0 or preset.height <= 0:
        raise InputError(f"{where}: width and height must be positive and even")
    from pipeline.model.timeline import MAX_SIDE

    if preset.x264_preset not in X264_SPEEDS:
        raise InputError(f"{where}: x264_preset '{preset.x264_preset}' is not one of {', '.join(X264_SPEEDS)}")

    if max(preset.width, preset.height) > MAX_SIDE:
        raise InputError(f"{where}: {preset.width}x{preset.height} is too large (at most {MAX_SIDE} px a side)")
    try:
        aw, _, ah = preset.aspect.partition(":")
        declared = Fraction(int(aw), int(ah))
    except (ValueError, ZeroDivisionError):
        raise InputError(f"{where}: aspect '{preset.aspect}' is not W:H") from None
    if abs(declared - preset.aspect_ratio) > declared / 100:
        raise InputError(f"{where}: aspect {preset.aspect} does not match {preset.width}x{preset.height}")
    for side in ("safe_top", "safe_bottom", "safe_left", "safe_right"):
        if not 0 <= getattr(preset, side) < 0.5:
            raise InputError(f"{where}: {side} must be a fraction of the frame in [0, 0.5)")
    if preset.max_size_mb is not None and preset.max_size_mb <= 0:
        raise InputError(f"{where}: max_size_mb must be positive")
    if preset.max_duration is not None and preset.max_duration <= 0:
        raise InputError(f"{where}: max_duration must be positive")
    return preset


def load_presets() -> dict[str, Preset]:
    """Built-in presets, then the user's folder (which adds and overrides)."""
    raw = _read_folder(_builtin_dir(), "builtin")
    raw.update(_read_folder(user_presets_dir(), "user"))
    # Names starting with "_" are bases for `extends`, not outputs.
    return {name: _build(_resolve(name, raw)) for name in sorted(raw) if not name.startswith("_")}


# libx264's speed presets, fastest first.
X264_SPEEDS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow", "placebo")


def get_preset(name: str, where: str = "--preset") -> Preset:
    """The preset called `name`; an unknown name is an InputError naming `where`."""
    presets = load_presets()
    if name not in presets:
        hint = did_you_mean(name, presets, f"; known: {', '.join(presets)}")
        raise InputError(f"{where} {name}: unknown preset{hint}")
    return presets[name]
