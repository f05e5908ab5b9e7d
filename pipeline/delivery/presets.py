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


def _read_folder(folder: Path, source: str) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    """(raw preset tables by name, broken files by name: the reason, naming the file)."""
    raw: dict[str, dict[str, Any]] = {}
    broken: dict[str, str] = {}
    if not folder.is_dir():
        return raw, broken
    for path in sorted(folder.glob("*.toml")):
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            broken[path.stem] = f"{path}: invalid preset file ({' '.join(str(exc).split())})"
            continue
        name = data.get("name", path.stem)
        if not isinstance(name, str) or not name:
            broken[path.stem] = f"{path}: name must be a non-empty string"
            continue
        data["name"] = name
        data["source"] = source if source == "builtin" else str(path)
        data["_path"] = str(path)
        data["_layer"] = source
        raw[name] = data
    return raw, broken


Layers = dict[str, dict[str, dict[str, Any]]]  # layer ("builtin", "user") -> name -> table


def _parent(name: str, layer: str, parent: str, layers: Layers) -> tuple[str, str] | None:
    """Where `extends = parent` of preset `name` in `layer` points: a user preset that
    extends its own name extends the built-in it replaces; otherwise the user's preset of
    that name if there is one, else the built-in."""
    if layer == "user" and parent == name:
        return ("builtin", parent) if parent in layers["builtin"] else None
    for where in ("user", "builtin"):
        if parent in layers[where]:
            return where, parent
    return None


def _resolve(key: tuple[str, str], layers: Layers, chain: tuple[tuple[str, str], ...] = ()) -> dict[str, Any]:
    layer, name = key
    if key in chain:
        names = [n for _, n in chain + (key,)]
        raise InputError(f"{layers[layer][name].get('_path', name)}: 'extends' forms a loop ({' -> '.join(names)})")
    data = dict(layers[layer][name])
    parent = data.pop("extends", None)
    if parent is not None:
        where = data.get("_path", name)
        if not isinstance(parent, str):
            raise InputError(f"{where}: extends must be the name of a preset")
        found = _parent(name, layer, parent, layers)
        if found is None:
            raise InputError(f"{where}: extends unknown preset '{parent}'")
        base = _resolve(found, layers, chain + (key,))
        merged = {**base, **data}
        if "extra" in base or "extra" in data:
            merged["extra"] = {**base.get("extra", {}), **data.get("extra", {})}
        data = merged
    return data


# (low, high) for every number a preset holds; None where the field may be left out.
RANGES: dict[str, tuple[float, float | None, str]] = {
    "width": (16, None, "px"),  # high: the timeline's MAX_SIDE
    "height": (16, None, "px"),
    "max_fps": (1, 240, "fps"),
    "crf": (0, 63, ""),
    "gop_seconds": (0.1, 60, "s"),
    "sample_rate": (8000, 96000, "Hz"),
    "channels": (1, 8, ""),
    "loudness_lufs": (-40, -5, "LUFS"),
    "true_peak_dbtp": (-9, 0, "dBTP"),
    "loudness_tolerance_lu": (0.1, 5, "LU"),
    "max_duration": (0.1, 86400, "s"),
    "max_size_mb": (0.1, 1_000_000, "MB"),
}
# Bit rates (bits per second) as "12M" / "192k" strings.
RATE_RANGES: dict[str, tuple[float, float]] = {
    "maxrate": (10e3, 2e9), "bufsize": (10e3, 4e9), "audio_bitrate": (8e3, 1.5e6),
}
_INTS = {"width", "height", "crf", "sample_rate", "channels"}
_TEXTS = {"name", "description", "platform", "aspect", "video_codec", "x264_preset", "pix_fmt", "profile",
          "level", "audio_codec", "container", "spec", "source"}


def _check_types_and_ranges(where: str, body: dict[str, Any]) -> None:
    """InputError naming the preset file and key for a value of the wrong kind or out of range."""
    from pipeline.model.timeline import MAX_SIDE

    def bad(key: str, why: str) -> InputError:
        return InputError(f"{where}: {key} = {body[key]!r}: {why}")

    for key, value in body.items():
        if key in _TEXTS and value is not None and not isinstance(value, str):
            raise bad(key, "must be a string")
        if key in RANGES and value is not None:
            low, high, unit = RANGES[key]
            high = MAX_SIDE if high is None else high
            if key == "max_fps" and isinstance(value, str):
                try:
                    number = float(Fraction(value))
                except (ValueError, ZeroDivisionError):
                    raise bad(key, "must be a number or a fraction like 30000/1001") from None
            elif isinstance(value, bool) or not isinstance(value, (int, float)) or (
                    key in _INTS and not isinstance(value, int)):
                raise bad(key, "must be a whole number" if key in _INTS else "must be a number")
            else:
                number = float(value)
            if not low <= number <= high:
                raise bad(key, f"must be between {low:g} and {high:g}{' ' + unit if unit else ''}")
        if key in RATE_RANGES and value is not None:
            from pipeline.render.settings import parse_rate

            low, high = RATE_RANGES[key]
            if isinstance(value, bool) or not isinstance(value, (str, int, float)):
                raise bad(key, "must be a bit rate like '12M' or '192k'")
            try:
                bps = parse_rate(value)
            except InputError:
                raise bad(key, "must be a bit rate like '12M' or '192k'") from None
            if bps is None or not low <= bps <= high:
                raise bad(key, f"must be between {low / 1e3:g}k and {high / 1e6:g}M bits per second")
    if "extra" in body and not isinstance(body["extra"], dict):
        raise bad("extra", "must be a table")


def _build(data: dict[str, Any]) -> Preset:
    where = data.get("_path", data.get("name"))
    body = {k: v for k, v in data.items() if not k.startswith("_")}
    unknown = set(body) - _FIELDS
    if unknown:
        raise InputError(f"{where}: unknown preset key(s): {', '.join(sorted(unknown))}")
    _check_types_and_ranges(str(where), body)
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
        value = getattr(preset, side)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 0.5:
            raise InputError(f"{where}: {side} must be a fraction of the frame in [0, 0.5)")
    return preset


@dataclass(frozen=True)
class Library:
    """Every preset that loads, and for each one that does not, why (naming its file):
    a broken user preset affects only the uses of that preset."""

    presets: dict[str, Preset]
    broken: dict[str, str]

    def names(self) -> list[str]:
        return sorted(set(self.presets) | set(self.broken))


def load_library() -> Library:
    """Built-in presets, then the user's folder (which adds and overrides)."""
    builtin, broken = _read_folder(_builtin_dir(), "builtin")
    user, user_broken = _read_folder(user_presets_dir(), "user")
    broken.update(user_broken)
    layers: Layers = {"builtin": builtin, "user": user}
    found: dict[str, Preset] = {}
    # Names starting with "_" are bases for `extends`, not outputs.
    for name in sorted({**builtin, **user}):
        if name.startswith("_"):
            continue
        if name in user_broken:
            continue  # the user's own file for this name is unreadable: no silent fallback
        key = ("user", name) if name in user else ("builtin", name)
        try:
            found[name] = _build(_resolve(key, layers))
        except InputError as exc:
            broken[name] = str(exc)
    return Library(found, {n: why for n, why in broken.items() if not n.startswith("_") and n not in found})


def load_presets() -> dict[str, Preset]:
    """Every preset that loads (see load_library for the ones that do not)."""
    return load_library().presets


def preset_names() -> list[str]:
    """Every preset name, loadable or not (a broken one fails when it is used)."""
    return load_library().names()


# libx264's speed presets, fastest first.
X264_SPEEDS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow", "placebo")


def get_preset(name: str, where: str = "--preset") -> Preset:
    """The preset called `name`; an unknown name is an InputError naming `where`, a broken
    one an InputError naming its file and key."""
    library = load_library()
    if name in library.broken:
        raise InputError(library.broken[name])
    if name not in library.presets:
        hint = did_you_mean(name, library.names(), f"; known: {', '.join(library.names())}")
        raise InputError(f"{where} {name}: unknown preset{hint}")
    return library.presets[name]
