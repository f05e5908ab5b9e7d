"""What each video model can deliver: durations, shapes, rate, sound. Shared by the
remote providers and by `local`, which renders clips of exactly these shapes offline."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Callable

from pipeline.errors import InputError, did_you_mean


@dataclass(frozen=True)
class ModelSpec:
    name: str
    family: str  # "sora" or "kling"
    durations: tuple[int, ...]
    sizes: dict[str, tuple[int, int]]  # aspect -> (width, height)
    fps: Fraction
    sound: str  # "never", "optional", "always"
    high_sizes: dict[str, tuple[int, int]] | None = None  # e.g. sora-2-pro's 1024p tier

    def check(self, duration: float | None, aspect: str | None, sound: bool | None,
              size: str | None = None) -> tuple[int, str, tuple[int, int], bool]:
        """Validate a request; returns (seconds, aspect, (w, h), sound). InputError says what
        the model supports."""
        secs = int(duration) if duration is not None else self.durations[0]
        if duration is not None and (float(duration) != secs or secs not in self.durations):
            opts = ", ".join(str(d) for d in self.durations)
            raise InputError(f"--duration {duration:g}: {self.name} makes clips of {opts} seconds")
        sizes = dict(self.sizes)
        if self.high_sizes:
            sizes_all = {**{f"{w}x{h}": (w, h) for w, h in self.sizes.values()},
                         **{f"{w}x{h}": (w, h) for w, h in self.high_sizes.values()}}
        else:
            sizes_all = {f"{w}x{h}": (w, h) for w, h in self.sizes.values()}
        if size is not None:
            if size not in sizes_all:
                raise InputError(f"--size {size}: {self.name} supports {', '.join(sizes_all)}")
            wh = sizes_all[size]
            asp = next((a for a, s in {**sizes, **(self.high_sizes or {})}.items() if s == wh), aspect or "16:9")
            if aspect is not None and aspect != asp:
                raise InputError(f"--size {size} does not match --aspect {aspect}")
        else:
            asp = aspect or next(iter(sizes))
            if asp not in sizes:
                hint = ""
                if self.family == "sora" and asp == "1:1":
                    hint = " (render 16:9 and use `reelforge reframe --aspect 1:1`)"
                raise InputError(f"--aspect {asp}: {self.name} supports {', '.join(sizes)}{hint}")
            wh = sizes[asp]
        want_sound = bool(sound)
        if sound and self.sound == "never":
            raise InputError(f"--sound: {self.name} makes silent clips (kling-v2-6 has native audio)")
        if sound is None:
            want_sound = self.sound == "always"
        return secs, asp, wh, want_sound

    @property
    def is_kling_v1(self) -> bool:
        return self.name in ("kling-v1", "kling-v1-5", "kling-v1-6")

    def check_options(self, provider: str, opts: dict[str, Any], sound: bool,
                      warn: Callable[[str], None] | None = None) -> dict[str, Any]:
        """Validate the model-specific options (negative prompt, cfg scale, mode, images,
        camera control, seed, remix); returns them cleaned. An option this model cannot
        honour is an InputError that says what it supports."""
        out = {k: v for k, v in opts.items() if v is not None}
        name = self.name
        if self.family == "sora":
            for key, flag in (("negative_prompt", "--negative-prompt"), ("cfg_scale", "--cfg-scale"),
                              ("image_tail", "--image-tail"), ("camera_control", "camera_control")):
                if key in out:
                    raise InputError(f"{flag}: {name} does not take it (kling models do); sora takes a "
                                     "prompt, --duration 4/8/12, --size and a first-frame --image")
            if "mode" in out:
                raise InputError(f"--mode: {name} has no std/pro mode; use --model sora-2-pro for the "
                                 "higher-quality tier")
        else:
            if "remix_of" in out:
                raise InputError(f"remix: {name} cannot remix a video; only sora models can")
            if "cfg_scale" in out:
                cfg = float(out["cfg_scale"])
                if not self.is_kling_v1:
                    if warn:
                        warn(f"--cfg-scale: {name} ignores it (only kling-v1.x models take it); dropped")
                    out.pop("cfg_scale")
                elif not 0.0 <= cfg <= 1.0:
                    raise InputError(f"--cfg-scale {cfg:g}: must be between 0 and 1")
            mode = out.get("mode")
            if mode is not None and mode not in ("std", "pro"):
                raise InputError(f"--mode {mode}: {name} offers std (720p) or pro (1080p)")
            if sound and self.sound != "never":
                if mode == "std":
                    raise InputError(f"--sound: {name} makes sound only in --mode pro")
                out["mode"] = "pro"
            if "image_tail" in out and "image" not in out:
                raise InputError("--image-tail: needs --image too (the first frame)")
            cam = out.get("camera_control")
            if cam is not None and (not isinstance(cam, dict) or "type" not in cam):
                raise InputError("camera_control: a mapping with 'type' (and 'config' for type simple)")
        if provider != "local" and "seed" in out:
            raise InputError(f"--seed: {provider} does not take a seed; only the local provider is "
                             "repeatable (a finished clip is cached by its request instead)")
        return out


_SORA_SIZES = {"16:9": (1280, 720), "9:16": (720, 1280)}
_SORA_HIGH = {"16:9": (1792, 1024), "9:16": (1024, 1792)}
_KLING_SIZES = {"16:9": (1280, 720), "9:16": (720, 1280), "1:1": (960, 960)}

MODELS: dict[str, ModelSpec] = {
    "sora-2": ModelSpec("sora-2", "sora", (4, 8, 12), _SORA_SIZES, Fraction(30), "never"),
    "sora-2-pro": ModelSpec("sora-2-pro", "sora", (4, 8, 12), _SORA_SIZES, Fraction(30), "never", _SORA_HIGH),
    "kling-v1": ModelSpec("kling-v1", "kling", (5, 10), _KLING_SIZES, Fraction(30), "never"),
    "kling-v1-6": ModelSpec("kling-v1-6", "kling", (5, 10), _KLING_SIZES, Fraction(30), "never"),
    "kling-v2-master": ModelSpec("kling-v2-master", "kling", (5, 10), _KLING_SIZES, Fraction(24), "never"),
    "kling-v2-1": ModelSpec("kling-v2-1", "kling", (5, 10), _KLING_SIZES, Fraction(24), "never"),
    "kling-v2-1-master": ModelSpec("kling-v2-1-master", "kling", (5, 10), _KLING_SIZES, Fraction(24), "never"),
    "kling-v2-5-turbo": ModelSpec("kling-v2-5-turbo", "kling", (5, 10), _KLING_SIZES, Fraction(24), "never"),
    "kling-v2-6": ModelSpec("kling-v2-6", "kling", (5, 10), _KLING_SIZES, Fraction(24), "optional"),
}


def get_model(name: str) -> ModelSpec:
    if name not in MODELS:
        hint = did_you_mean(name, MODELS, f"; known: {', '.join(MODELS)}")
        raise InputError(f"--model {name}: unknown model{hint}")
    return MODELS[name]
