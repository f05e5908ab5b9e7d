"""Generic dataclass <-> JSON with exact fractions ("n/d" strings), used by the timeline's
versioned JSON form."""

from __future__ import annotations

from dataclasses import fields, is_dataclass
from fractions import Fraction
from typing import Any, get_type_hints

from pipeline.timebase import fmt_fraction, to_fraction


def dump(obj: Any) -> Any:
    if isinstance(obj, Fraction):
        return fmt_fraction(obj)
    if is_dataclass(obj):
        return {f.name: dump(getattr(obj, f.name)) for f in fields(obj)}
    if isinstance(obj, dict):
        return {k: dump(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [dump(v) for v in obj]
    return obj


_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    if cls not in _HINTS:
        _HINTS[cls] = get_type_hints(cls)
    return _HINTS[cls]


def load(tp: Any, value: Any) -> Any:
    import typing

    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if tp is Any:
        return value
    if origin is typing.Union or (origin is not None and str(origin) == "<class 'types.UnionType'>"):
        if value is None:
            return None
        non_none = [a for a in args if a is not type(None)]
        for option in non_none[:-1]:  # the first type that reads the value (str | list[str])
            try:
                return load(option, value)
            except (TypeError, KeyError, ValueError):
                continue
        return load(non_none[-1], value)
    if tp is Fraction:
        return to_fraction(value)
    if is_dataclass(tp):
        if not isinstance(value, dict):
            raise TypeError(f"{tp.__name__} must be an object")
        hints = _hints(tp)
        known = {f.name for f in fields(tp)}
        unknown = set(value) - known
        if unknown:
            raise KeyError(f"unknown field(s) in {tp.__name__}: {', '.join(sorted(unknown))}")
        return tp(**{k: load(hints[k], v) for k, v in value.items()})
    if origin in (list, tuple):
        return [load(args[0] if args else Any, v) for v in value]
    if origin is dict:
        return {k: load(args[1] if len(args) > 1 else Any, v) for k, v in value.items()}
    if tp in (int, float, str, bool):
        if tp is float and isinstance(value, (int, float)):
            return float(value)
        if not isinstance(value, tp):
            raise TypeError(f"expected {tp.__name__}, got {value!r}")
        return value
    return value


