"""Validation of step parameters against the stages' pydantic Params, with errors mapped
back to the pipeline file's lines and nearest-valid-value suggestions."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

from pipeline.errors import did_you_mean

if TYPE_CHECKING:
    from pipeline.run.spec import PipelineSpec, Step

Key = tuple[Any, ...]
# A parameter value with one of these extensions names a file that must exist, unless
# its key says it is an output.
MEDIA_EXTENSIONS = {
    ".mp4", ".mov", ".mkv", ".m4v", ".webm", ".avi", ".wav", ".mp3", ".m4a", ".aac", ".flac",
    ".ogg", ".opus", ".png", ".jpg", ".jpeg", ".webp", ".txt", ".srt", ".vtt", ".otio", ".py",
}
OUTPUT_KEYS = {"dir", "name", "output", "out", "report", "output_dir", "save", "prefix", "suffix"}


def hint(word: str, choices: Iterable[str]) -> str:
    """" (did you mean 'x'?)" for the nearest choice, or ""."""
    return did_you_mean(word, choices, cutoff=0.5)


# ---- validation ------------------------------------------------------------------------
_TYPE_WORDS = {
    "int": "a whole number", "float": "a number", "bool": "true or false", "string": "text",
    "list": "a list", "dict": "a mapping", "model": "a mapping", "tuple": "a list",
}


def _display(stage: str, loc: Iterable[Any]) -> str:
    out = stage
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def _data_loc(raw: Any, loc: tuple[Any, ...]) -> tuple[Any, ...]:
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


def _fields_at(model: Any, loc: tuple[Any, ...]) -> list[str]:
    """Field names of the (sub)model at `loc`, for suggestions."""
    try:
        schema = model.model_json_schema()
    except Exception:  # noqa: BLE001 - a Params model without a schema: no suggestions
        return []
    defs = schema.get("$defs", {})
    node = schema
    for part in loc:
        node = _deref(node, defs)
        if isinstance(part, int):
            node = node.get("items", {})
        else:
            node = node.get("properties", {}).get(part, {})
    node = _deref(node, defs)
    return list(node.get("properties", {}))


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


def explain(err: dict[str, Any], model: Any, raw: Any, stage: str) -> tuple[tuple[Any, ...], str]:
    """(data location, message) for one pydantic error, with nearest-value suggestions."""
    kind = err.get("type", "")
    loc = _data_loc(raw, tuple(err.get("loc", ())))
    key = _display(stage, loc)
    value = err.get("input")
    ctx = err.get("ctx") or {}
    msg = str(err.get("msg", "invalid value"))
    if kind == "extra_forbidden":
        allowed = _fields_at(model, loc[:-1])
        return loc, f"{_display(stage, loc[:-1])}: unknown key '{loc[-1]}'{hint(str(loc[-1]), allowed)}"
    if kind == "missing":
        return loc[:-1], f"{_display(stage, loc[:-1])}: missing required key '{loc[-1]}'"
    if kind in ("literal_error", "enum"):
        allowed = re.findall(r"'([^']*)'", str(ctx.get("expected", ""))) or re.findall(r"\b(\w[\w:.-]*)\b", str(ctx.get("expected", "")))
        what = str(loc[-1]) if loc and not isinstance(loc[-1], int) else "value"
        near = hint(str(value), allowed) or f" (expected one of: {', '.join(allowed)})"
        return loc, f"{key}: unknown {what} '{value}'{near}"
    for prefix in ("Value error, ", "Assertion failed, "):
        if msg.startswith(prefix):
            return loc, f"{key}: {msg[len(prefix):]}"
    base = kind.split("_")[0]
    if kind.endswith(("_type", "_parsing")) and base in _TYPE_WORDS:
        return loc, f"{key}: expected {_TYPE_WORDS[base]}, got {value!r}"
    return loc, f"{key}: {msg[:1].lower()}{msg[1:]} (got {value!r})"


def validate_step(spec: PipelineSpec, stage: Any, step: Step) -> Any:
    """Validate a step's parameters; the first error names file:line:key."""
    from pydantic import ValidationError

    try:
        return stage.Params.model_validate(step.params or {})
    except ValidationError as exc:
        err = exc.errors()[0]
        loc, message = explain(err, stage.Params, step.params, step.name)
        if not step.path:  # shots: the parameters are the file's top level
            return_msg = message.split(": ", 1)[1] if ": " in message else message
            raise spec.fail(loc, f"{_display('shots', loc[1:]) if loc else 'shots'}: {return_msg}") from None
        raise spec.fail(step.path + loc, message) from None


def _walk_strings(value: Any, path: Key) -> Iterable[tuple[Key, str]]:
    if isinstance(value, dict):
        for k, v in value.items():
            if str(k) not in OUTPUT_KEYS:
                yield from _walk_strings(v, path + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _walk_strings(v, path + (i,))
    elif isinstance(value, str):
        yield path, value


def check_media(spec: PipelineSpec, params: dict[str, Any], base: Key, stage: str) -> None:
    """Every parameter that names a media (or script) file must exist."""
    for rel, text in _walk_strings(params, ()):
        code = re.fullmatch(r"(.+\.py):[A-Za-z_][A-Za-z0-9_]*", text)
        text = code.group(1) if code else text
        if "://" in text or "\n" in text or Path(text).suffix.lower() not in MEDIA_EXTENSIONS:
            continue
        f = Path(text).expanduser()
        f = f if f.is_absolute() else spec.base_dir / f
        if not f.exists():
            where = _display("shots" if not base else stage, rel[1:] if not base else rel)
            raise spec.fail(base + rel, f"{where}: no such file '{text}'")
