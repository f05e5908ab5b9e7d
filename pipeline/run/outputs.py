"""Which files a run writes, decided for the whole run before any step runs.

A stage says which of its parameters name a file it writes with `Option(role="output")`
in the field's metadata (pipeline.run.params), and, when it names files from several
parameters (export: folder, name and presets), with a method
`writes(params, ctx, name) -> list[Path]`. The runner collects both for every step and
applies the command line's output policy (pipeline.files.check_output_path) to each:
never a file the edit reads, never a user's file without --overwrite, never one file
written by two steps or two variants. Nothing here knows a stage by name.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

from pipeline.errors import InputError
from pipeline.files import check_output_path

if TYPE_CHECKING:
    from pipeline.model.timeline import Timeline

PipelineSpec = Any  # pipeline.run.spec.PipelineSpec, which imports this module


@dataclass(frozen=True)
class Planned:
    """A file one step of one spec will write."""

    path: Path  # absolute
    label: str  # "promo.yaml:12: check.report": where the file was asked for
    variant: str | None


def output_fields(params_cls: Any) -> list[str]:
    """The Params fields marked as files the stage writes (Option(role="output"))."""
    from pipeline.run.params import options_of

    return [name for name, info in getattr(params_cls, "model_fields", {}).items()
            if any(opt.role == "output" for opt in options_of(info))]


def planned_outputs(spec: PipelineSpec) -> list[Planned]:
    """Every file the spec's steps will write, in step order."""
    from pipeline.run.stage import StageContext, get_stage

    ctx = StageContext(base_dir=spec.base_dir)
    found: list[Planned] = []
    for step in spec.steps:
        stage = get_stage(step.name)
        model = step.model
        if model is None:
            continue
        for name in output_fields(stage.Params):
            value = getattr(model, name, None)
            if isinstance(value, str) and value:
                label = f"{spec.where(*step.path, name)}: {step.name}.{name}"
                found.append(Planned(ctx.resolve(value), label, spec.variant))
        writes = getattr(stage, "writes", None)
        if callable(writes):
            for path in writes(model, ctx, spec.name):
                found.append(Planned(ctx.resolve(path), f"{spec.where(*step.path)}: {step.name}", spec.variant))
    return found


def _who(p: Planned) -> str:
    return f"variant '{p.variant}'" if p.variant is not None else p.label.rsplit(": ", 1)[-1]


def check_distinct(specs: list[PipelineSpec]) -> None:
    """InputError when two variants share a name, or two steps (of one spec or of two
    variants) would write the same file: the second would silently replace the first."""
    names: dict[str, PipelineSpec] = {}
    for spec in specs:
        if spec.name in names and spec.variant is not None:
            first = names[spec.name]
            raise InputError(f"{spec.where('variants', spec.variant)}: variants '{first.variant}' and "
                             f"'{spec.variant}' both make '{spec.name}' (their outputs would replace each other); "
                             "give each its own suffix or name")
        names[spec.name] = spec
    seen: dict[Path, Planned] = {}
    for spec in specs:
        for planned in planned_outputs(spec):
            first = seen.get(planned.path)
            if first is not None:
                raise InputError(f"{planned.label} {planned.path}: also written by {_who(first)}; "
                                 "give each output its own name")
            seen[planned.path] = planned


def param_files(value: Any, base: Path) -> list[str]:
    """Files the parameters name (strings that resolve to an existing file)."""
    found: list[str] = []
    if isinstance(value, dict):
        for v in value.values():
            found += param_files(v, base)
    elif isinstance(value, list):
        for v in value:
            found += param_files(v, base)
    elif isinstance(value, str) and value and len(value) < 4096 and "\n" not in value:
        for text in (value, value.rpartition(":")[0]):  # also "effects.py:function"
            if not text:
                continue
            p = Path(text).expanduser()
            p = p if p.is_absolute() else base / p
            try:
                if p.is_file():
                    found.append(str(p))
                    break
            except OSError:
                pass
    return found


def edit_reads(spec: PipelineSpec, tl: Timeline | None) -> set[str]:
    """Every user file the run reads: the pipeline file, its inputs, the media the starting
    timeline uses and every existing file a parameter names (music, scripts, effect code)."""
    reads = {str(spec.path.resolve())} | {str(p) for p in spec.inputs}
    if tl is not None:
        reads.update(tl.sources())
    for step in spec.steps:
        from pipeline.run.stage import get_stage

        model = step.model
        if model is None:
            continue
        skip = set(output_fields(get_stage(step.name).Params))
        params = {k: v for k, v in model.model_dump(mode="json").items() if k not in skip}
        reads.update(param_files(params, spec.base_dir))
    return reads


def check_outputs(spec: PipelineSpec, tl: Timeline | None, overwrite: bool,
                  reads: Iterable[str] = ()) -> list[Planned]:
    """Apply the output policy to every file the spec will write (before any step runs)."""
    check_distinct([spec])
    all_reads = edit_reads(spec, tl) | set(reads)
    planned = planned_outputs(spec)
    for p in planned:
        check_output_path(p.path, all_reads, overwrite, label=p.label)
    return planned
