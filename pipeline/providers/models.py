"""The model catalog: what each video model can deliver and which provider reaches it.

Models are data (TOML files in pipeline/providers/catalog/, shipped in the wheel, plus a
user's own in REELFORGE_MODELS or <user config dir>/models). Each states its durations,
aspects, modes and the size delivered for each, whether it makes sound, which options it
takes and which exclude each other, its routes (Kling's API, fal, Replicate, a Sora
service) and its prices. Every request is validated here before anything is sent: an
option the model or route cannot take is an InputError naming it and saying what the model
supports. `local` renders clips of exactly these shapes offline.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, Callable

from pipeline.errors import InputError, did_you_mean

try:
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

REMOTE = ("kling", "fal", "replicate", "sora")
SOUND = ("never", "optional", "always")


def _wh(text: str, where: str) -> tuple[int, int]:
    try:
        w, h = (int(x) for x in str(text).lower().split("x"))
    except ValueError:
        raise InputError(f"{where}: size {text!r} is not WxH") from None
    return w, h


@dataclass(frozen=True)
class ModelSpec:
    name: str
    family: str
    durations: tuple[int, ...]
    aspects: tuple[str, ...]
    sizes: dict[str, dict[str, tuple[int, int]]]  # mode ("any", "high", "std", ...) -> aspect -> (w, h)
    fps: Fraction = Fraction(24)
    sound: str = "never"
    modes: tuple[str, ...] = ()
    sound_modes: tuple[str, ...] = ()
    text2video: bool = True
    image2video: bool = True
    cfg_scale: bool = False
    image_tail: dict[str, Any] | None = None
    camera_control: dict[str, Any] | None = None
    routes: dict[str, dict[str, Any]] = field(default_factory=dict)
    prices: dict[str, dict[str, Any]] = field(default_factory=dict)
    title: str = ""
    expected_seconds: float = 180.0
    source: str = ""

    # -- shape -------------------------------------------------------------------------
    def default_mode(self) -> str | None:
        return self.modes[0] if self.modes else None

    def size_table(self, mode: str | None) -> dict[str, tuple[int, int]]:
        if mode and mode in self.sizes:
            return self.sizes[mode]
        return self.sizes.get("any") or next(iter(self.sizes.values()))

    def all_sizes(self) -> dict[str, tuple[int, int]]:
        out: dict[str, tuple[int, int]] = {}
        for table in self.sizes.values():
            for wh in table.values():
                out[f"{wh[0]}x{wh[1]}"] = wh
        return out

    def check(self, duration: float | None, aspect: str | None, sound: bool | None,
              size: str | None = None, mode: str | None = None
              ) -> tuple[int, str, tuple[int, int], bool, str | None]:
        """Validate the shape of a request; returns (seconds, aspect, (w, h), sound, mode).
        InputError says what the model supports."""
        secs = int(duration) if duration is not None else self.durations[0]
        if duration is not None and (float(duration) != secs or secs not in self.durations):
            raise InputError(f"--duration {duration:g}: {self.name} makes clips of {_list(self.durations)} seconds")
        if mode is not None and mode not in self.modes:
            offered = f"offers {', '.join(self.modes)}" if self.modes else "has no quality modes"
            raise InputError(f"--mode {mode}: {self.name} {offered}")
        if sound and self.sound == "never":
            raise InputError(f"--sound: {self.name} makes silent clips (kling-v2-6, kling-v3 and veo-3.1 "
                             "make sound)")
        if sound is False and self.sound == "always":
            raise InputError(f"--no-sound: {self.name} always makes sound")
        want_sound = bool(sound) if sound is not None else self.sound == "always"
        if want_sound and self.sound_modes:
            if mode is not None and mode not in self.sound_modes:
                raise InputError(f"--sound: {self.name} makes sound only in --mode {' or '.join(self.sound_modes)}")
            if mode is None:
                default = self.default_mode()
                mode = default if default in self.sound_modes else self.sound_modes[-1]
        if mode is None:
            mode = self.default_mode()
        if size is not None:
            sizes = self.all_sizes()
            if size not in sizes:
                raise InputError(f"--size {size}: {self.name} supports {', '.join(sizes)}")
            wh = sizes[size]
            tier = next(k for k, t in self.sizes.items() if wh in t.values())
            asp = next(a for a, s in self.sizes[tier].items() if s == wh)
            if aspect is not None and aspect != asp:
                raise InputError(f"--size {size} does not match --aspect {aspect}")
            if tier in self.modes:
                if mode is not None and mode != tier and mode != self.default_mode():
                    raise InputError(f"--size {size} is made in --mode {tier}, not {mode}")
                mode = tier
            return secs, asp, wh, want_sound, mode
        asp = aspect or self.aspects[0]
        if asp not in self.aspects:
            hint = ""
            if asp == "1:1" and "1:1" not in self.aspects:
                hint = " (render 16:9 and use `reelforge reframe --aspect 1:1`)"
            raise InputError(f"--aspect {asp}: {self.name} supports {', '.join(self.aspects)}{hint}")
        return secs, asp, self.size_table(mode)[asp], want_sound, mode

    # -- options -----------------------------------------------------------------------
    def check_options(self, provider: str, opts: dict[str, Any], sound: bool, mode: str | None,
                      duration: int, warn: Callable[[str], None] | None = None) -> dict[str, Any]:
        """Validate the model-specific options against the catalog and the route; returns
        them cleaned. An option this model or route cannot honour is an InputError that
        says what it supports."""
        out = {k: v for k, v in opts.items() if v is not None}
        name = self.name
        kind = "image2video" if out.get("image") else "text2video"
        if kind == "text2video" and not self.text2video:
            raise InputError(f"--image: {name} makes video from an image only (image to video); give a "
                             "first frame with --image or pick another model")
        if kind == "image2video" and not self.image2video:
            raise InputError(f"--image: {name} does not take a first frame")
        if "remix_of" in out and self.family != "sora":
            raise InputError(f"remix: {name} cannot remix a video; only sora models can")
        if "cfg_scale" in out:
            cfg = float(out["cfg_scale"])
            if not self.cfg_scale:
                if warn:
                    warn(f"--cfg-scale: {name} ignores it (only kling-v1.x models take it); dropped")
                out.pop("cfg_scale")
            elif not 0.0 <= cfg <= 1.0:
                raise InputError(f"--cfg-scale {cfg:g}: must be between 0 and 1")
        if self.family == "sora":
            for key, flag in (("negative_prompt", "--negative-prompt"), ("image_tail", "--image-tail"),
                              ("camera_control", "camera_control")):
                if key in out:
                    raise InputError(f"{flag}: {name} does not take it; sora takes a prompt, --duration "
                                     "4/8/12, --size and a first-frame --image")
        if "image_tail" in out:
            self._check_tail(out, sound, mode, duration)
        if "camera_control" in out:
            self._check_camera(out["camera_control"], kind, mode, duration)
        if provider in REMOTE:
            self._check_route(provider, out, kind, sound, mode)
        if provider != "local" and "seed" in out:
            raise InputError(f"--seed: {provider} does not take a seed; only the local provider is "
                             "repeatable (a finished clip is cached by its request instead)")
        if mode is not None:
            out["mode"] = mode
        return out

    def _check_tail(self, out: dict[str, Any], sound: bool, mode: str | None, duration: int) -> None:
        rule = self.image_tail
        if rule is None:
            raise InputError(f"--image-tail: {self.name} does not take a last frame")
        if "image" not in out:
            raise InputError("--image-tail: needs --image too (the first frame)")
        if rule.get("modes") and mode not in rule["modes"]:
            raise InputError(f"--image-tail: {self.name} takes a last frame only in --mode "
                             f"{' or '.join(rule['modes'])}")
        if rule.get("durations") and duration not in rule["durations"]:
            raise InputError(f"--image-tail: {self.name} takes a last frame only with --duration "
                             f"{_list(rule['durations'])}")
        excludes = rule.get("excludes", [])
        if "sound" in excludes and sound:
            raise InputError(f"--image-tail: {self.name} cannot make sound with a last frame; use --no-sound "
                             "or drop --image-tail")
        if "camera_control" in excludes and out.get("camera_control"):
            raise InputError("--image-tail: cannot be combined with camera_control")

    def _check_camera(self, cam: Any, kind: str, mode: str | None, duration: int) -> None:
        rule = self.camera_control
        if rule is None:
            takers = [m.name for m in catalog().values() if m.camera_control]
            raise InputError(f"camera_control: {self.name} does not take it (only {', '.join(takers)} do)")
        if not isinstance(cam, dict) or "type" not in cam:
            raise InputError("camera_control: a mapping with 'type' (and 'config' for type simple)")
        where = f"{self.name} takes camera_control only for"
        if kind not in rule.get("kinds", [kind]):
            raise InputError(f"camera_control: {where} {' and '.join(rule['kinds'])}")
        if rule.get("modes") and mode not in rule["modes"]:
            raise InputError(f"camera_control: {where} --mode {' or '.join(rule['modes'])}")
        if rule.get("durations") and duration not in rule["durations"]:
            raise InputError(f"camera_control: {where} --duration {_list(rule['durations'])}")
        if cam["type"] not in rule.get("types", [cam["type"]]):
            raise InputError(f"camera_control: type {cam['type']!r}; {self.name} takes {', '.join(rule['types'])}")
        if cam["type"] == "simple":
            config = cam.get("config")
            axes = ("horizontal", "vertical", "pan", "tilt", "roll", "zoom")
            if not isinstance(config, dict) or set(config) - set(axes):
                raise InputError(f"camera_control: type simple needs config with {', '.join(axes)}")
            moved = [k for k in axes if config.get(k, 0) not in (0, None)]
            if len(moved) != 1:
                raise InputError("camera_control: type simple needs exactly one non-zero value in config "
                                 f"(got {len(moved)})")
            value = config[moved[0]]
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not -10 <= value <= 10:
                raise InputError(f"camera_control: config.{moved[0]} must be between -10 and 10")
        elif cam.get("config"):
            raise InputError(f"camera_control: type {cam['type']} takes no config")

    def route(self, provider: str) -> dict[str, Any]:
        if provider not in self.routes:
            offered = ", ".join(self.routes) or "local only"
            raise InputError(f"--provider {provider}: {self.name} is not offered there; it is offered by "
                             f"{offered}")
        return self.routes[provider]

    def _check_route(self, provider: str, out: dict[str, Any], kind: str, sound: bool, mode: str | None) -> None:
        route = self.route(provider)
        if provider in ("fal", "replicate"):
            if kind not in route and provider == "fal":
                raise InputError(f"--image: {self.name} on fal has no {kind} endpoint")
            if route.get("modes") and mode not in route["modes"]:
                raise InputError(f"--mode {mode}: {self.name} on {provider} is offered in --mode "
                                 f"{' or '.join(route['modes'])} only")
            for key, flag, fld in (("image_tail", "--image-tail", "tail_field"),
                                   ("negative_prompt", "--negative-prompt", "negative_field"),
                                   ("camera_control", "camera_control", "camera_field"),
                                   ("cfg_scale", "--cfg-scale", "cfg_field")):
                if key in out and not route.get(fld):
                    raise InputError(f"{flag}: {self.name} on {provider} does not take it")
            if sound and not route.get("sound_field") and self.sound != "always":
                raise InputError(f"--sound: {self.name} on {provider} makes no sound")

    def providers(self) -> list[str]:
        return list(self.routes)


def _list(values: Any) -> str:
    vals = list(values)
    if len(vals) > 4 and vals == list(range(vals[0], vals[-1] + 1)):
        return f"{vals[0]} to {vals[-1]}"
    return ", ".join(str(v) for v in vals)


def _load(path: Path, data: dict[str, Any]) -> ModelSpec:
    where = str(path)
    try:
        sizes = {mode: {a: _wh(s, where) for a, s in table.items()} for mode, table in data["sizes"].items()}
        spec = ModelSpec(
            name=str(data["name"]), family=str(data["family"]),
            durations=tuple(int(d) for d in data["durations"]), aspects=tuple(data["aspects"]),
            sizes=sizes, fps=Fraction(str(data.get("fps", 24))), sound=str(data.get("sound", "never")),
            modes=tuple(data.get("modes", ())), sound_modes=tuple(data.get("sound_modes", ())),
            text2video=bool(data.get("text2video", True)), image2video=bool(data.get("image2video", True)),
            cfg_scale=bool(data.get("cfg_scale", False)), image_tail=data.get("image_tail"),
            camera_control=data.get("camera_control"), routes=dict(data.get("routes", {})),
            prices=dict(data.get("prices", {})), title=str(data.get("title", data["name"])),
            expected_seconds=float(data.get("expected_seconds", 180)), source=where)
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"{where}: not a model description ({exc.__class__.__name__}: {exc})") from None
    if spec.sound not in SOUND:
        raise InputError(f"{where}: sound must be one of {', '.join(SOUND)}")
    for mode in spec.modes:
        if mode not in spec.sizes and "any" not in spec.sizes:
            raise InputError(f"{where}: no [sizes.{mode}] for mode {mode}")
    unknown = set(spec.routes) - set(REMOTE)
    if unknown:
        raise InputError(f"{where}: unknown route {sorted(unknown)[0]}; routes are {', '.join(REMOTE)}")
    return spec


def user_models_dir() -> Path:
    env = os.environ.get("REELFORGE_MODELS")
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_config_dir("reelforge")) / "models"


@functools.lru_cache(maxsize=4)
def _catalog(user_dir: str) -> dict[str, ModelSpec]:
    from importlib import resources

    models: dict[str, ModelSpec] = {}
    shipped = resources.files("pipeline.providers") / "catalog"
    files = [(Path(str(p)), p.read_text(encoding="utf-8")) for p in shipped.iterdir() if p.name.endswith(".toml")]
    user = Path(user_dir)
    if user.is_dir():
        files += [(p, p.read_text(encoding="utf-8")) for p in sorted(user.glob("*.toml"))]
    for path, text in sorted(files, key=lambda f: (f[0].parent != Path(str(shipped)), f[0].name)):
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise InputError(f"{path}: not valid TOML ({exc})") from None
        spec = _load(path, data)
        models[spec.name] = spec
    return dict(sorted(models.items()))


def catalog() -> dict[str, ModelSpec]:
    """Every known model by name (the shipped catalog, then the user's additions)."""
    return _catalog(str(user_models_dir()))


def get_model(name: str) -> ModelSpec:
    models = catalog()
    if name not in models:
        hint = did_you_mean(name, models, f"; known: {', '.join(models)}")
        raise InputError(f"--model {name}: unknown model{hint}")
    return models[name]


SORA_DEFAULT_BASE = "https://api.openai.com/v1"


def sora_base() -> str:
    """The Videos API base for video calls: REELFORGE_SORA_BASE_URL, else OpenAI's (gone)."""
    return (os.environ.get("REELFORGE_SORA_BASE_URL") or SORA_DEFAULT_BASE).rstrip("/")


def passthrough_model(name: str) -> ModelSpec:
    """The model for the sora provider: a catalog model as it is, or, for a service other
    than OpenAI's that names its own models, the name passed through with sora-2's shape."""
    models = catalog()
    if name in models:
        return models[name]
    if "api.openai.com" in sora_base():
        return get_model(name)  # unknown: the usual error
    base = models["sora-2"]
    return ModelSpec(**{**base.__dict__, "name": name, "title": name, "routes": {"sora": {"model": name}},
                        "prices": {}})


def describe(spec: ModelSpec) -> dict[str, Any]:
    """A model as plain data (for `models show --json`)."""
    return {"name": spec.name, "title": spec.title, "family": spec.family, "fps": str(spec.fps),
            "durations": list(spec.durations), "aspects": list(spec.aspects), "modes": list(spec.modes),
            "sound": spec.sound, "sound_modes": list(spec.sound_modes), "text2video": spec.text2video,
            "image2video": spec.image2video, "cfg_scale": spec.cfg_scale,
            "sizes": {m: {a: f"{w}x{h}" for a, (w, h) in t.items()} for m, t in spec.sizes.items()},
            "image_tail": spec.image_tail, "camera_control": spec.camera_control,
            "providers": ["local", *spec.routes], "routes": spec.routes, "prices": spec.prices,
            "file": spec.source}
