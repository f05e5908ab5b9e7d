"""Colour fixes on a clip: eq (brightness, contrast, saturation, gamma) and channel gains."""

from __future__ import annotations

from typing import Any

_EQ_KEYS = ("brightness", "contrast", "saturation", "gamma")
_MIX_KEYS = {"r_gain": "rr", "g_gain": "gg", "b_gain": "bb"}


def apply_color(v: Any, color: dict[str, float]) -> Any:
    eq = {k: color[k] for k in _EQ_KEYS if k in color}
    if eq:
        v = v.filter("eq", **{k: f"{val:.4f}" for k, val in eq.items()})
    mix = {_MIX_KEYS[k]: f"{color[k]:.4f}" for k in _MIX_KEYS if k in color}
    if mix:
        v = v.filter("colorchannelmixer", **mix)
    return v
