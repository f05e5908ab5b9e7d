"""The one validator of stage parameters, whichever front end they come from.

A stage's pydantic Params model is the single description of what a user can set: the
command line options are generated from its fields (`Option` metadata names the flag,
help and metavar), pipeline-file keys and Python keywords are its fields, and the JSON
Schema is built from it. `validate` checks raw parameters against it; its error,
`ParamsError`, carries the location of the key at fault, and each front end renders it
in its own words:

    command line   --gain-db 1000: must be at most 60
    pipeline file  promo.yaml:7: music.gain_db: must be at most 60 (got 1000)
    Python API     music.gain_db: must be at most 60 (got 1000)
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Iterable, Literal

from pydantic import BaseModel, ValidationError

from pipeline.errors import InputError, did_you_mean

Loc = tuple[Any, ...]
Role = Literal["input", "output"]


@dataclass(frozen=True)
class Option:
    """How a Params field appears on the command line (put it in the field's Annotated
    metadata). Every argument is optional: without it the flag is the field name with
    dashes, the help is the field's description.

    flag     "--gain-db"; a `--no-x` flag on a field that defaults to True sets it False
    short    "-g"
    help     the option's help text (also the field's description in the JSON Schema)
    metavar  "SECONDS"
    role     "input": a file the stage reads (never an output; must exist);
             "output": a file the stage writes (checked like -o before any work)
    cli      False keeps the field off the command line (pipeline files and API only)
    choices  the values the command line offers (a Literal field offers its own)
    key      for a list-of-mappings field: the item key this option fills; repeat the
             option for several items (voiceover: --audio a.wav --at 1 --audio b.wav);
             "*": the command line gives one item, whose fields are the options
    type     the value's type on the command line when the field's is a union
    minimum  the command line shows and checks the lower bound (FLOAT RANGE [x>0])
    value    what a flag puts in the field (a field that also takes a number:
             --thumbnail is True, --thumbnail-at 2.5 is 2.5)
    """

    flag: str | None = None
    short: str | None = None
    help: str | None = None
    metavar: str | None = None
    role: Role | None = None
    cli: bool = True
    choices: tuple[str, ...] | None = None
    key: str | None = None
    value: Any = None
    show_default: bool | None = None
    type: type | None = None
    minimum: float | None = None
    # command-line-only options (CommandLine.extras): the name they reach the stage
    # under (ctx.options[name], or ctx.dry_run)
    name: str | None = None

    def __get_pydantic_json_schema__(self, core_schema: Any, handler: Any) -> dict[str, Any]:
        schema = handler(core_schema)
        if self.help and isinstance(schema, dict) and "description" not in schema:
            schema = {**schema, "description": self.help}
        return schema


def options_of(field: Any) -> list[Option]:
    """The Option metadata of a pydantic FieldInfo, in order."""
    return [m for m in getattr(field, "metadata", ()) if isinstance(m, Option)]


# ---- the error and its renderings ------------------------------------------------------
def display(stage: str, loc: Iterable[Any]) -> str:
    """stage.key[0].sub: how a key path is named in messages."""
    out = stage
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


class ParamsError(InputError):
    """A parameter is invalid. `loc` is its key path in the raw parameters, `text` the
    message without any location; str() is the API's rendering, `stage.key: text`."""

    def __init__(self, stage: str, loc: Loc, text: str, value: Any = None, show_value: bool = False,
                 at: Loc | None = None) -> None:
        self.stage, self.loc, self.text, self.value, self.show_value = stage, tuple(loc), text, value, show_value
        self.at = tuple(loc if at is None else at)  # the key path whose line a file shows (an unknown key's own)
        super().__init__(self.at_key())

    def key(self, stage: str | None = None, loc: Loc | None = None) -> str:
        return display(self.stage if stage is None else stage, self.loc if loc is None else loc)

    def message(self) -> str:
        """The text with the offending value when the text does not show it."""
        return f"{self.text} (got {self.value!r})" if self.show_value else self.text

    def at_key(self, stage: str | None = None, loc: Loc | None = None) -> str:
        """`stage.key: message`: the Python API's rendering (and a pipeline file's, after
        its file:line)."""
        return f"{self.key(stage, loc)}: {self.message()}"

    def at_option(self, flag: str) -> str:
        """`--flag VALUE: message`: the command line's rendering."""
        value = self.value
        if isinstance(value, float):
            return f"{flag} {value:g}: {self.text}"
        if isinstance(value, (str, int)) and not isinstance(value, bool):
            return f"{flag} {value}: {self.text}"
        return f"{flag}: {self.text}"


def problem(loc: Loc, text: str, value: Any = None) -> ParamsError:
    """For a Params validator that must name a key other than its own (a model validator:
    "fix needs output"): raise problem(("fix",), "..."). `validate` fills in the stage."""
    return ParamsError("", loc, text, value)


# ---- validation ------------------------------------------------------------------------
_TYPE_WORDS = {
    "int": "a whole number", "float": "a number", "bool": "true or false", "string": "text",
    "list": "a list", "dict": "a mapping", "model": "a mapping", "tuple": "a list",
}


def validate(stage: str, model: type[BaseModel], raw: dict[str, Any] | None) -> BaseModel:
    """Raw parameters -> the stage's validated Params; raises ParamsError (the first
    problem, with its location and a nearest-valid-value suggestion)."""
    raw = raw or {}
    if not isinstance(raw, dict):
        raise ParamsError(stage, (), "parameters must be a mapping")
    _refuse_non_finite(stage, raw, ())
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise explain(exc.errors()[0], model, raw, stage) from None
    except ParamsError as exc:
        if exc.stage:
            raise
        raise ParamsError(stage, exc.loc, exc.text, exc.value, exc.show_value, exc.at) from None


def _refuse_non_finite(stage: str, value: Any, loc: Loc) -> None:
    """No parameter means infinity or not-a-number (YAML's .inf, the CLI's 'nan')."""
    if isinstance(value, float) and not math.isfinite(value):
        raise ParamsError(stage, loc, "must be a finite number", value)
    if isinstance(value, dict):
        for k, v in value.items():
            _refuse_non_finite(stage, v, loc + (k,))
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            _refuse_non_finite(stage, v, loc + (i,))


def explain(err: dict[str, Any], model: Any, raw: Any, stage: str) -> ParamsError:
    """One pydantic error as a ParamsError at the data location it concerns."""
    kind = err.get("type", "")
    loc = _data_loc(raw, tuple(err.get("loc", ())))
    value = err.get("input")
    ctx = err.get("ctx") or {}
    msg = str(err.get("msg", "invalid value"))
    if kind == "extra_forbidden":
        allowed = _fields_at(model, loc[:-1])
        return ParamsError(stage, loc[:-1], f"unknown key '{loc[-1]}'{did_you_mean(str(loc[-1]), allowed, cutoff=0.5)}",
                           value, at=loc)
    if kind == "missing":
        return ParamsError(stage, loc[:-1], f"missing required key '{loc[-1]}'")
    if kind in ("literal_error", "enum"):
        expected = str(ctx.get("expected", ""))
        allowed = re.findall(r"'([^']*)'", expected) or re.findall(r"\b(\w[\w:.-]*)\b", expected)
        what = str(loc[-1]) if loc and not isinstance(loc[-1], int) else "value"
        near = did_you_mean(str(value), allowed, cutoff=0.5) or f" (expected one of: {', '.join(allowed)})"
        return ParamsError(stage, loc, f"unknown {what} '{value}'{near}", value)
    for prefix in ("Value error, ", "Assertion failed, "):
        if msg.startswith(prefix):
            return ParamsError(stage, loc, msg[len(prefix):], value)
    bound = _bound_text(kind, ctx)
    if bound:
        return ParamsError(stage, loc, bound, value, show_value=True)
    base = kind.split("_")[0]
    if kind.endswith(("_type", "_parsing")) and base in _TYPE_WORDS:
        return ParamsError(stage, loc, f"expected {_TYPE_WORDS[base]}, got {value!r}", value)
    return ParamsError(stage, loc, f"{msg[:1].lower()}{msg[1:]}", value, show_value=True)


def _bound_text(kind: str, ctx: dict[str, Any]) -> str | None:
    words = {"greater_than": "must be more than", "greater_than_equal": "must be at least",
             "less_than": "must be less than", "less_than_equal": "must be at most"}
    if kind in words:
        limit = next(iter(ctx.values()), None)
        return f"{words[kind]} {limit:g}" if isinstance(limit, (int, float)) else None
    return None


def _data_loc(raw: Any, loc: Loc) -> Loc:
    """The part of a pydantic error location that indexes the raw data (pydantic adds
    union/type tags such as 'literal[...]' that are not keys of the file)."""
    out: list[Any] = []
    node: Any = raw
    for i, part in enumerate(loc):
        is_tag = isinstance(part, str) and ("[" in part or part[:1].isupper()) and i < len(loc) - 1
        if isinstance(node, dict):
            if part not in node and is_tag:
                continue
            out.append(part)
            node = node.get(part)
        elif isinstance(node, list) and isinstance(part, int):
            out.append(part)
            node = node[part] if 0 <= part < len(node) else None
        elif node is None and not is_tag:
            out.append(part)
    return tuple(out)


def _fields_at(model: Any, loc: Loc) -> list[str]:
    """Field names of the (sub)model at `loc`, for suggestions."""
    try:
        schema = model.model_json_schema()
    except Exception:  # noqa: BLE001 - a Params model without a schema: no suggestions
        return []
    defs = schema.get("$defs", {})
    node = schema
    for part in loc:
        node = _deref(node, defs)
        node = node.get("items", {}) if isinstance(part, int) else node.get("properties", {}).get(part, {})
    return list(_deref(node, defs).get("properties", {}))


def _deref(node: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    for _ in range(10):
        if "$ref" in node:
            node = defs.get(node["$ref"].split("/")[-1], {})
        elif "anyOf" in node:
            objs = [n for n in node["anyOf"] if "$ref" in n or n.get("type") in ("object", "array")]
            node = objs[0] if objs else node["anyOf"][0]
        elif "allOf" in node and len(node["allOf"]) == 1:
            node = node["allOf"][0]
        else:
            break
    return node
