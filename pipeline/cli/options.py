"""Command-line options generated from a stage's Params fields.

Each field becomes one option (or several, when its `Option` metadata lists several:
export's `thumbnail` is --thumbnail and --thumbnail-at); the option knows the key path
it fills in the raw parameters, so the values typed come back as the mapping a pipeline
file would give, and a validation error at a key path is shown as the option typed.
"""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass, field
from typing import Any, Literal, Union

import click
from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from pipeline.errors import InputError
from pipeline.run.params import Option, options_of

STAR = "*"  # any item of a list (voiceover: --audio fills audio[*].file)


@dataclass
class Spec:
    """One generated option: the click parameter and the key path its value fills."""

    param: click.Option
    path: tuple[Any, ...]  # ("gain_db",), ("audio", "*", "at"), ("shots", 0, "prompt")
    meta: Option
    invert: bool = False  # --no-stream-copy: given -> False
    pairs: bool = False  # NAME=VALUE items -> a mapping
    multiple: bool = False

    @property
    def flag(self) -> str:
        return max(self.param.opts, key=len)

    @property
    def dest(self) -> str:
        return str(self.param.name)

    def given(self, value: Any) -> bool:
        """Whether the user typed it (defaults are left to the Params model)."""
        if self.multiple:
            return bool(value)
        if self.param.is_flag and not self.param.secondary_opts:
            return bool(value)
        return value is not None


def _strip(ann: Any) -> tuple[Any, bool]:
    """(annotation without Optional/Annotated, whether None is allowed)."""
    optional = False
    while True:
        origin = typing.get_origin(ann)
        if origin is typing.Annotated:
            ann = typing.get_args(ann)[0]
        elif origin in (Union, types.UnionType):
            args = [a for a in typing.get_args(ann) if a is not type(None)]
            optional = optional or len(args) < len(typing.get_args(ann))
            if len(args) == 1:
                ann = args[0]
            else:
                return Union[tuple(args)], optional  # type: ignore[return-value]
        else:
            return ann, optional


def _union_members(ann: Any) -> list[Any]:
    return list(typing.get_args(ann)) if typing.get_origin(ann) in (Union, types.UnionType) else [ann]


def _is_model(ann: Any) -> bool:
    return isinstance(ann, type) and issubclass(ann, BaseModel)


def _scalar_type(ann: Any, meta: Option, open_low: bool = False) -> Any:
    """The click type for one value of annotation `ann` (a range when the option gives a
    minimum: the field's own constraint still applies in every front end)."""
    ann = meta.type or ann
    if meta.choices:
        return click.Choice(list(meta.choices))
    if typing.get_origin(ann) is Literal:
        return click.Choice([str(a) for a in typing.get_args(ann)])
    if meta.role:
        return click.Path(dir_okay=False)
    if ann is int:
        return click.INT if meta.minimum is None else click.IntRange(min=int(meta.minimum), min_open=open_low)
    if ann is float:
        return click.FLOAT if meta.minimum is None else click.FloatRange(min=meta.minimum, min_open=open_low)
    return click.STRING


def _default(f: Any) -> Any:
    return None if f.default is PydanticUndefined or f.default_factory is not None else f.default


def specs_for(model: type[BaseModel], prefix: tuple[Any, ...] = ()) -> list[Spec]:
    """The options of every field of `model` that belongs on the command line."""
    specs: list[Spec] = []
    for name, f in model.model_fields.items():
        metas = options_of(f)
        if any(not m.cli for m in metas):
            continue
        ann, optional = _strip(f.annotation)
        origin = typing.get_origin(ann)
        members = _union_members(ann)
        lists = [m for m in members if typing.get_origin(m) is list]
        item = _strip(typing.get_args(lists[0])[0])[0] if lists and typing.get_args(lists[0]) else str
        if lists and _is_model(item):
            if not metas:
                continue  # a list of mappings has no default command-line form
            if any(m.key == STAR for m in metas):  # the command line gives one item: its fields
                specs += specs_for(item, prefix + (name, 0))
                continue
            for meta in metas:
                sub = item.model_fields[meta.key or ""]
                specs.append(_make(prefix + (name, STAR, meta.key), meta, _strip(sub.annotation)[0], sub,
                                   multiple=True, required=False))
            continue
        if _is_model(ann):
            continue
        if origin is dict and not metas and any(_is_model(_strip(a)[0]) or typing.get_origin(a) is not None
                                                for a in typing.get_args(ann)[1:]):
            continue  # a mapping of structures has no default command-line form
        for meta in metas or [Option()]:
            if origin is dict:
                specs.append(_make(prefix + (name,), meta, str, f, multiple=True, pairs=True, required=False))
            elif lists:
                specs.append(_make(prefix + (name,), meta, item, f, multiple=True,
                                   required=f.is_required() and not prefix))
            else:
                specs.append(_make(prefix + (name,), meta, ann, f, optional=optional,
                                   required=f.is_required() and meta.value is None, shared=len(metas) > 1))
    return specs


def _make(path: tuple[Any, ...], meta: Option, ann: Any, f: Any, multiple: bool = False, pairs: bool = False,
          required: bool = False, optional: bool = False, shared: bool = False) -> Spec:
    name = str(path[-1])
    flag = meta.flag or "--" + name.replace("_", "-")
    decls = [flag] + ([meta.short] if meta.short else [])
    dest = flag.lstrip("-").replace("-", "_")
    help_text = meta.help if meta.help is not None else (f.description or None)
    default = None if multiple or shared else _default(f)  # shared: several options fill the field
    kwargs: dict[str, Any] = {"help": help_text, "metavar": meta.metavar, "required": required}
    invert = False
    if ann is bool and meta.value is None:
        if flag.startswith("--no-") and default is True:
            kwargs.update(is_flag=True, default=False)
            invert = True
        elif default is False:
            kwargs.update(is_flag=True, default=False)
        else:  # True or None: --x/--no-x
            decls = [f"{flag}/--no-{flag[2:]}"] + ([meta.short] if meta.short else [])
            kwargs.update(default=default, show_default=default is not None)
    elif meta.value is not None:  # a flag that puts a fixed value in a field that takes others too
        kwargs.update(is_flag=True, default=False)
    else:
        open_low = any(type(m).__name__ == "Gt" for m in getattr(f, "metadata", ()))
        kwargs.update(type=_scalar_type(ann, meta, open_low), multiple=multiple)
        if not multiple and not required:
            kwargs["default"] = default
            kwargs["show_default"] = meta.show_default if meta.show_default is not None else default is not None
    decls.append(dest)
    return Spec(click.Option(decls, **kwargs), path, meta, invert=invert, pairs=pairs, multiple=multiple)


def extra_option(meta: Option) -> click.Option:
    """A command-line-only option (--dry-run, --json, --budget)."""
    decls = [meta.flag or "--" + str(meta.name).replace("_", "-")] + ([meta.short] if meta.short else [])
    decls.append(str(meta.name))
    if meta.type is bool:
        return click.Option(decls, is_flag=True, help=meta.help)
    kind: Any = click.STRING
    if meta.type is float:
        kind = click.FLOAT if meta.minimum is None else click.FloatRange(min=meta.minimum)
    elif meta.type is int:
        kind = click.INT if meta.minimum is None else click.IntRange(min=int(meta.minimum))
    return click.Option(decls, type=kind, metavar=meta.metavar, help=meta.help, default=None)


@dataclass
class Collected:
    raw: dict[str, Any] = field(default_factory=dict)
    suppliers: dict[tuple[Any, ...], Spec] = field(default_factory=dict)  # key path -> option that set it
    reads: list[tuple[Spec, str]] = field(default_factory=list)
    writes: list[tuple[Spec, str]] = field(default_factory=list)


def collect(specs: list[Spec], values: dict[str, Any]) -> Collected:
    """The raw parameters the typed options give (options not typed are left out, so
    the Params defaults apply)."""
    got = Collected()
    zipped: dict[tuple[Any, ...], list[tuple[Spec, tuple[Any, ...]]]] = {}
    for spec in specs:
        value = values.get(spec.dest)
        if not spec.given(value):
            continue
        if STAR in spec.path:
            cut = spec.path.index(STAR)
            zipped.setdefault(spec.path[:cut], []).append((spec, tuple(value)))
            continue
        if spec.pairs:
            value = _pairs(spec, value)
        elif spec.multiple:
            value = list(value)
        elif spec.invert:
            value = False
        elif spec.meta.value is not None:
            value = spec.meta.value
        _put(got.raw, spec.path, value)
        got.suppliers[spec.path] = spec
        _note_files(got, spec, value)
    for base, parts in zipped.items():
        first, count = parts[0][0], len(parts[0][1])
        items: list[dict[str, Any]] = [{} for _ in range(count)]
        for spec, vals in parts:
            if len(vals) > count:
                raise InputError(f"{spec.flag}: more {spec.flag} than {first.flag} options")
            for i, v in enumerate(vals):
                items[i][spec.path[-1]] = v
            got.suppliers[spec.path] = spec
            for v in vals:
                _note_files(got, spec, v)
        _put(got.raw, base, items)
    return got


def _note_files(got: Collected, spec: Spec, value: Any) -> None:
    for v in value if isinstance(value, list) else [value]:
        if spec.meta.role == "input" and isinstance(v, str):
            got.reads.append((spec, v))
        elif spec.meta.role == "output" and isinstance(v, str):
            got.writes.append((spec, v))


def _put(raw: dict[str, Any], path: tuple[Any, ...], value: Any) -> None:
    node: Any = raw
    for i, part in enumerate(path[:-1]):
        nxt = path[i + 1]
        if isinstance(node, dict):
            node = node.setdefault(part, [] if isinstance(nxt, int) else {})
        else:  # a list: the one item the command line describes
            while len(node) <= part:
                node.append({})
            node = node[part]
    node[path[-1]] = value


def _pairs(spec: Spec, items: tuple[str, ...]) -> dict[str, Any]:
    """NAME=VALUE items -> {NAME: VALUE}, each value read as YAML (2 -> int, true -> bool)."""
    import yaml

    out: dict[str, Any] = {}
    for item in items:
        k, sep, v = item.partition("=")
        if not sep or not k:
            raise InputError(f"{spec.flag} {item}: expected NAME=VALUE")
        try:
            out[k] = yaml.safe_load(v) if v else ""
        except yaml.YAMLError:
            out[k] = v
    return out


def option_for(loc: tuple[Any, ...], suppliers: dict[tuple[Any, ...], Spec]) -> Spec | None:
    """The option that set the value at `loc` (or the value containing it)."""
    best: Spec | None = None
    for path, spec in suppliers.items():
        if len(path) <= len(loc) and all(p == STAR or p == q for p, q in zip(path, loc)):
            if best is None or len(path) > len(best.path):
                best = spec
    return best
