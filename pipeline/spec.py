"""Pipeline files (YAML) -> a validated list of steps. Errors name file:line and key.

    name: promo
    shots:                       # optional: generated first, in order, onto the timeline
      - {id: opener, prompt: "...", model: sora-2, duration: 4}
    steps:
      - stitch: {transition: "fade:0.5"}
      - export: {presets: [tiktok, youtube-shorts], dir: out}
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .errors import InputError

TOP_KEYS = ("name", "version", "vars", "variants", "canvas", "shots", "steps", "output_dir")


@dataclass
class Step:
    name: str
    params: dict[str, Any]
    line: int
    model: Any = None  # validated parameters


@dataclass
class PipelineSpec:
    path: Path
    name: str
    steps: list[Step]
    raw: dict[str, Any] = field(default_factory=dict)
    lines: dict[tuple[Any, ...], int] = field(default_factory=dict)

    @property
    def base_dir(self) -> Path:
        return self.path.parent

    def where(self, *key: Any) -> str:
        """file:line for a key path (the nearest enclosing key that has a line)."""
        k = tuple(key)
        while k and k not in self.lines:
            k = k[:-1]
        return f"{self.path}:{self.lines.get(k, 1)}"


class _LineLoader(yaml.SafeLoader):
    """Remembers the line of every mapping key and sequence item."""


def _compose_lines(node: yaml.Node, path: tuple[Any, ...], lines: dict[tuple[Any, ...], int]) -> None:
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            key = k.value if isinstance(k, yaml.ScalarNode) else str(k)
            lines[path + (key,)] = k.start_mark.line + 1
            _compose_lines(v, path + (key,), lines)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            lines[path + (i,)] = item.start_mark.line + 1
            _compose_lines(item, path + (i,), lines)


def read_yaml(path: Path) -> tuple[Any, dict[tuple[Any, ...], int]]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read ({exc.__class__.__name__})") from None
    try:
        node = yaml.compose(text, Loader=_LineLoader)
        data = yaml.load(text, Loader=_LineLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else 1
        problem = getattr(exc, "problem", None) or str(exc)
        raise InputError(f"{path}:{line}: invalid YAML: {problem}") from None
    lines: dict[tuple[Any, ...], int] = {}
    if node is not None:
        _compose_lines(node, (), lines)
    return data, lines


def load_spec(path: str | Path) -> PipelineSpec:
    """Read and validate a pipeline file; every step's parameters are validated too."""
    from .stage import get_stage, validate_params

    p = Path(path)
    data, lines = read_yaml(p)
    if not isinstance(data, dict):
        raise InputError(f"{p}:1: a pipeline file is a mapping with 'steps' (and optionally 'shots')")
    spec = PipelineSpec(path=p, name=str(data.get("name") or p.stem), steps=[], raw=data, lines=lines)
    for key in data:
        if key not in TOP_KEYS:
            near = difflib.get_close_matches(str(key), TOP_KEYS, n=1)
            hint = f" (did you mean '{near[0]}'?)" if near else ""
            raise InputError(f"{spec.where(key)}: unknown key '{key}'{hint}")
    shots = data.get("shots") or []
    if not isinstance(shots, list):
        raise InputError(f"{spec.where('shots')}: shots: must be a list")
    if shots:
        spec.steps.append(Step("generate", {"shots": shots}, spec.lines.get(("shots",), 1)))
    raw_steps = data.get("steps") or []
    if not isinstance(raw_steps, list):
        raise InputError(f"{spec.where('steps')}: steps: must be a list of '- name: {{params}}'")
    for i, item in enumerate(raw_steps):
        if isinstance(item, str):
            item = {item: {}}
        if not isinstance(item, dict) or len(item) != 1:
            raise InputError(f"{spec.where('steps', i)}: each step is one name with its parameters")
        (name, params), = item.items()
        params = params or {}
        if not isinstance(params, dict):
            raise InputError(f"{spec.where('steps', i, name)}: {name}: parameters must be a mapping")
        line = spec.lines.get(("steps", i, name), spec.lines.get(("steps", i), 1))
        try:
            stage = get_stage(str(name))
        except InputError as exc:
            raise InputError(f"{p}:{line}: {exc}") from None
        spec.steps.append(Step(str(name), params, line))
    for idx, step in enumerate(spec.steps):
        stage = get_stage(step.name)
        step.model = validate_params(stage, step.params, f"{p}:{step.line}")
    return spec
