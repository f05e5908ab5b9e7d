"""Pipeline files (YAML) -> validated lists of steps. Errors name file:line and key.

    name: promo
    vars: {music: bed.wav}
    inputs: [intro.mp4, body.mp4]   # optional: media, .timeline.json or .otio to start from
    shots:                          # optional: generated first, in order, onto the timeline
      - {id: opener, prompt: "...", model: sora-2, duration: 4}
    steps:
      - stitch: {transition: "fade:0.5"}
      - music: {track: "${music}"}
        id: bed                     # optional step id (for variants and --force)
      - export: {presets: [tiktok, youtube-shorts], dir: out}
    variants:                       # optional: each renders its own output set
      calm: {vars: {music: calm.wav}}
      loud: {vars: {music: loud.wav}, steps: {export: {presets: [tiktok]}}}

Every step's parameters are validated by the stage's pydantic Params; validation errors
are mapped back to the YAML line of the key at fault (see pipeline.run.params).
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable


from pipeline.errors import InputError
from pipeline.files import check_file_name
from pipeline.run.yamlfile import Key, read_yaml
from pipeline.run.validation import _display, check_media, validate_step
from pipeline.run.validation import hint as _hint

TOP_KEYS = ("name", "version", "vars", "variants", "matrix", "canvas", "inputs", "shots", "steps", "output_dir")
VARIANT_KEYS = ("vars", "steps", "suffix", "name")
STEP_KEYS = ("id",)
CANVAS_KEYS = ("width", "height", "fps", "sample_rate")
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_.-]*)\}")



@dataclass
class Step:
    name: str
    params: dict[str, Any]
    line: int
    model: Any = None  # validated parameters
    id: str = ""
    path: Key = ()  # key path of the parameters in the YAML file

    @property
    def label(self) -> str:
        return self.id if self.id and self.id != self.name else self.name


@dataclass
class PipelineSpec:
    path: Path
    name: str
    steps: list[Step]
    raw: dict[str, Any] = field(default_factory=dict)
    lines: dict[Key, int] = field(default_factory=dict)
    vars: dict[str, Any] = field(default_factory=dict)
    variant: str | None = None
    inputs: list[Path] = field(default_factory=list)
    canvas: dict[str, Any] | None = None

    @property
    def base_dir(self) -> Path:
        return self.path.resolve().parent

    def line(self, *key: Any) -> int:
        k = tuple(key)
        while k and k not in self.lines:
            k = k[:-1]
        return self.lines.get(k, 1)

    def where(self, *key: Any) -> str:
        """file:line for a key path (the nearest enclosing key that has a line)."""
        return f"{self.path}:{self.line(*key)}"

    def fail(self, key: Key, message: str) -> InputError:
        return InputError(f"{self.where(*key)}: {message}")


def _unknown_keys(spec: PipelineSpec, data: dict[str, Any], allowed: Iterable[str], base: Key, what: str) -> None:
    allowed = tuple(allowed)
    for key in data:
        if key not in allowed:
            raise spec.fail(base + (key,), f"{what}unknown key '{key}'{_hint(str(key), allowed)}")


# ---- variables ------------------------------------------------------------------------
def substitute(value: Any, variables: dict[str, Any], spec: PipelineSpec, path: Key) -> Any:
    """Replace ${name} in every string; a string that is only ${name} takes the value's type.
    `$${` writes a literal `${`."""
    if isinstance(value, dict):
        return {k: substitute(v, variables, spec, path + (k,)) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute(v, variables, spec, path + (i,)) for i, v in enumerate(value)]
    if not isinstance(value, str) or "${" not in value:
        return value

    def lookup(name: str) -> Any:
        if name not in variables:
            key = _key_name(path)
            raise spec.fail(path, f"{key}: unknown variable '${{{name}}}'{_hint(name, variables)}")
        return variables[name]

    escaped = value.replace("$${", "\0")
    whole = _VAR.fullmatch(escaped)
    if whole:
        return lookup(whole.group(1))
    return _VAR.sub(lambda m: str(lookup(m.group(1))), escaped).replace("\0", "${")


def _key_name(path: Key) -> str:
    """How a key path is named in messages: export.presets[0], shots[1].prompt, vars.x."""
    if len(path) >= 3 and path[0] == "steps" and isinstance(path[1], int):
        return _display(str(path[2]), path[3:])
    if path and path[0] == "shots":
        return _display("shots", path[1:])
    return _display(str(path[0]), path[1:]) if path else "file"


# ---- variants --------------------------------------------------------------------------
def variant_names(path: str | Path) -> list[str]:
    """The variants a pipeline file defines (empty: it renders one output set)."""
    data, _ = read_yaml(Path(path))
    variants = data.get("variants") if isinstance(data, dict) else None
    return [str(k) for k in variants] if isinstance(variants, dict) else []


def _copy_lines(lines: dict[Key, int], src: Key, dst: Key) -> None:
    for key, line in list(lines.items()):
        if key[: len(src)] == src:
            lines[dst + key[len(src):]] = line


def _apply_variant(spec: PipelineSpec, data: dict[str, Any], variant: str) -> tuple[dict[str, Any], str]:
    variants = data.get("variants")
    if not isinstance(variants, dict) or not variants:
        raise InputError(f"{spec.path}: variant '{variant}' given but the file defines no variants")
    if variant not in variants:
        raise InputError(f"{spec.path}: unknown variant '{variant}'{_hint(variant, variants)}; "
                         f"defined: {', '.join(map(str, variants))}")
    body = variants[variant] or {}
    base: Key = ("variants", variant)
    if not isinstance(body, dict):
        raise spec.fail(base, f"variants.{variant}: must be a mapping with vars/steps/suffix")
    _unknown_keys(spec, body, VARIANT_KEYS, base, f"variants.{variant}: ")
    data = copy.deepcopy(data)
    extra_vars = body.get("vars") or {}
    if not isinstance(extra_vars, dict):
        raise spec.fail(base + ("vars",), f"variants.{variant}.vars: must be a mapping")
    data["vars"] = {**(data.get("vars") or {}), **extra_vars}
    for k in extra_vars:
        _copy_lines(spec.lines, base + ("vars", k), ("vars", k))
    overrides = body.get("steps") or {}
    if not isinstance(overrides, dict):
        raise spec.fail(base + ("steps",), f"variants.{variant}.steps: map a step name or id to parameters")
    steps = data.get("steps") or []
    for target, params in overrides.items():
        where: Key = base + ("steps", target)
        if not isinstance(params, dict):
            raise spec.fail(where, f"variants.{variant}.steps.{target}: parameters must be a mapping")
        if target in ("generate", "shots") and data.get("shots"):
            raise spec.fail(where, f"variants.{variant}.steps.{target}: shots change through vars "
                                   "(use ${name} in the shots and set it in the variant's vars)")
        hits = 0
        for i, item in enumerate(steps):
            if not isinstance(item, dict):
                continue
            name = next((k for k in item if k not in STEP_KEYS), None)
            if name is None or target not in (name, item.get("id")):
                continue
            hits += 1
            item[name] = {**(item[name] or {}), **params}
            for k in params:
                _copy_lines(spec.lines, where + (k,), ("steps", i, name, k))
        if not hits:
            known = [next((k for k in it if k not in STEP_KEYS), "") for it in steps if isinstance(it, dict)]
            known += [str(it.get("id")) for it in steps if isinstance(it, dict) and it.get("id")]
            raise spec.fail(where, f"variants.{variant}.steps: no step '{target}'{_hint(str(target), known)}")
    suffix = body.get("suffix", f"-{variant}")
    name = str(body.get("name") or f"{data.get('name') or spec.path.stem}{suffix}")
    return data, name


# ---- loading ---------------------------------------------------------------------------
def load_spec(path: str | Path, variant: str | None = None, variables: dict[str, Any] | None = None,
              check_files: bool = True) -> PipelineSpec:
    """Read and validate a pipeline file (one variant of it); every step's parameters are
    validated too. `variables` override the file's `vars:`."""
    from pipeline.run.stage import get_stage

    p = Path(path)
    data, lines = read_yaml(p)
    if not isinstance(data, dict):
        raise InputError(f"{p}:1: a pipeline file is a mapping with 'steps' (and optionally 'shots')")
    spec = PipelineSpec(path=p, name=str(data.get("name") or p.stem), steps=[], raw=data, lines=lines)
    _unknown_keys(spec, data, TOP_KEYS, (), "")
    if variant is not None:
        data, spec.name = _apply_variant(spec, data, variant)
    spec.variant = variant
    raw_vars = data.get("vars") or {}
    if not isinstance(raw_vars, dict):
        raise spec.fail(("vars",), "vars: must be a mapping of name: value")
    spec.vars = {str(k): v for k, v in {**raw_vars, **(variables or {})}.items()}
    body = {k: substitute(v, spec.vars, spec, (k,)) for k, v in data.items() if k not in ("vars", "variants", "matrix")}
    spec.name = str(substitute(spec.name, spec.vars, spec, ("name",)))
    name_key: Key = ("variants", variant) if variant is not None else ("name",)
    check_file_name(spec.name, f"{spec.where(*name_key)}: name")  # it names the outputs: no folders

    canvas = body.get("canvas")
    if canvas is not None:
        if not isinstance(canvas, dict):
            raise spec.fail(("canvas",), "canvas: must be a mapping with width, height, fps")
        _unknown_keys(spec, canvas, CANVAS_KEYS, ("canvas",), "canvas: ")
        spec.canvas = _check_canvas(spec, canvas)
    inputs = body.get("inputs") or []
    if isinstance(inputs, str):
        inputs = [inputs]
    if not isinstance(inputs, list):
        raise spec.fail(("inputs",), "inputs: must be a list of media, .timeline.json or .otio files")
    for i, item in enumerate(inputs):
        f = (spec.base_dir / str(item)).resolve() if not Path(str(item)).is_absolute() else Path(str(item))
        if check_files and not f.is_file():
            raise spec.fail(("inputs", i), f"inputs[{i}]: no such file '{item}'")
        spec.inputs.append(f)

    shots = body.get("shots") or []
    if not isinstance(shots, list):
        raise spec.fail(("shots",), "shots: must be a list")
    if shots:
        spec.steps.append(Step("generate", {"shots": shots}, spec.line("shots"), id="generate", path=()))
    raw_steps = body.get("steps") or []
    if not isinstance(raw_steps, list):
        raise spec.fail(("steps",), "steps: must be a list of '- name: {params}'")
    for i, item in enumerate(raw_steps):
        if isinstance(item, str):
            item = {item: {}}
        names = [k for k in item if k not in STEP_KEYS] if isinstance(item, dict) else []
        if len(names) != 1:
            raise spec.fail(("steps", i), "each step is one name with its parameters, e.g. '- export: {presets: [tiktok]}'")
        name = names[0]
        params = item[name] or {}
        if not isinstance(params, dict):
            raise spec.fail(("steps", i, name), f"{name}: parameters must be a mapping")
        line = spec.line("steps", i, name)
        try:
            get_stage(str(name))
        except InputError as exc:
            raise InputError(f"{p}:{line}: {exc}") from None
        step_id = str(item.get("id") or name)
        spec.steps.append(Step(str(name), params, line, id=step_id, path=("steps", i, name)))
    _check_ids(spec)
    output_dir = body.get("output_dir")
    for step in spec.steps:
        stage = get_stage(step.name)
        fields = getattr(stage.Params, "model_fields", {})
        if output_dir and "dir" in fields and "dir" not in step.params:
            step.params = {**step.params, "dir": str(output_dir)}
        step.model = validate_step(spec, stage, step)
        if check_files:
            from pipeline.run.outputs import output_fields

            written = set(output_fields(stage.Params))  # files to write need not exist
            check_media(spec, {k: v for k, v in step.params.items() if k not in written}, step.path, step.name)
    return spec


def load_specs(path: str | Path, variants: Iterable[str] = (), variables: dict[str, Any] | None = None,
               check_files: bool = True) -> list[PipelineSpec]:
    """One spec per variant asked for (all the file's variants when none is asked for;
    the plain file when it has none)."""
    from pipeline.run.outputs import check_distinct

    chosen = list(variants) or variant_names(path)
    if not chosen:
        specs = [load_spec(path, None, variables, check_files)]
    else:
        specs = [load_spec(path, v, variables, check_files) for v in dict.fromkeys(chosen)]
    check_distinct(specs)
    return specs


def _check_canvas(spec: PipelineSpec, canvas: dict[str, Any]) -> dict[str, Any]:
    from pipeline.timebase import to_rate

    out: dict[str, Any] = {}
    for key in ("width", "height"):
        value = canvas.get(key)
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0 or value % 2:
            raise spec.fail(("canvas", key), f"canvas.{key}: expected a positive even whole number, got {value!r}")
        out[key] = value
    try:
        out["fps"] = to_rate(canvas.get("fps", 30))
    except (ValueError, ZeroDivisionError, TypeError):
        raise spec.fail(("canvas", "fps"), f"canvas.fps: not a frame rate: {canvas.get('fps')!r}") from None
    if not 1 <= out["fps"] <= 240:
        raise spec.fail(("canvas", "fps"), f"canvas.fps: must be between 1 and 240 frames per second, "
                                           f"got {canvas.get('fps')!r}")
    if "sample_rate" in canvas:
        out["sample_rate"] = int(canvas["sample_rate"])
    return out


def _check_ids(spec: PipelineSpec) -> None:
    seen: dict[str, Step] = {}
    for step in spec.steps:
        if step.id in seen and step.id != step.name:
            raise InputError(f"{spec.path}:{step.line}: step id '{step.id}' is used twice")
        seen[step.id] = step
