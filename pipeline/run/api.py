"""The Python API.

    from pipeline import Pipeline, Timeline
    from pipeline import api

    report = Pipeline.from_file("promo.yaml").run()          # like `reelforge run`
    print(report.outputs)

    tl = api.load("a.mp4", "b.mp4")                          # media, .timeline.json, .otio
    tl = api.stage("effect")(tl, clip=2, function="fx.py:invert")
    tl = api.stages.export(tl, presets=["tiktok"], dir="out")  # attribute style
    # every registered stage (plugins too) is callable both ways: api.<name>(tl, **params)
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from pipeline.errors import InputError
from pipeline.run.runner import RunResult, run_spec
from pipeline.run.spec import PipelineSpec, load_specs
from pipeline.run.stage import StageContext, get_stage, registry
from pipeline.model.timeline import Timeline
from pipeline.adapters.inputs import load_inputs

StageFunction = Callable[..., Timeline]


@dataclass
class RunReport:
    """What Pipeline.run produced: one RunResult per variant."""

    results: list[RunResult] = field(default_factory=list)

    @property
    def outputs(self) -> list[dict[str, Any]]:
        """Every output and check result (StageContext.outputs entries) of every variant."""
        return [o for r in self.results for o in r.outputs]

    @property
    def timeline(self) -> Timeline:
        """The final timeline (of the first variant)."""
        return self.results[0].timeline

    @property
    def timelines(self) -> dict[str, Timeline]:
        return {r.name: r.timeline for r in self.results}


class Pipeline:
    """A validated pipeline file (every variant of it, or those chosen)."""

    def __init__(self, specs: list[PipelineSpec]) -> None:
        self.specs = specs

    @classmethod
    def from_file(cls, path: str | os.PathLike[str], variants: Iterable[str] = (),
                  variables: dict[str, Any] | None = None) -> "Pipeline":
        """Read and validate a pipeline file; raises InputError naming file:line:key."""
        return cls(load_specs(path, variants, variables))

    @property
    def steps(self) -> list[str]:
        return [s.label for s in self.specs[0].steps] if self.specs else []

    def run(self, dry_run: bool = False, force: Iterable[str] = (), use_cache: bool = True,
            quiet: bool = True, **options: Any) -> RunReport:
        """Run every variant; unchanged steps come from the cache. Extra keyword options
        reach the stages as StageContext.options."""
        from pipeline.run.runner import check_force

        force = list(force)
        check_force(self.specs, force)
        report = RunReport()
        for spec in self.specs:
            report.results.append(run_spec(spec, dry_run=dry_run, force=force, use_cache=use_cache,
                                           quiet=quiet, live=False, **options))
        return report


def load(*paths: str | os.PathLike[str]) -> Timeline:
    """Media files, .timeline.json and .otio files -> one timeline (appended in order)."""
    return load_inputs([str(p) for p in paths])


def validate(name: str, params: dict[str, Any]) -> Any:
    """A stage's validated Params; a ParamsError (an InputError) reads `stage.key: message`."""
    from pipeline.run.params import validate as validate_params

    st = get_stage(name)
    return validate_params(st.name, st.Params, params)


def stage(name: str) -> StageFunction:
    """The stage `name` as a function: f(timeline, *, ctx=None, base_dir=None, **params).

    The timeline may also be a path (or a list of paths) to load first. Relative paths in
    the parameters resolve against base_dir (default: the current folder)."""
    st = get_stage(name)

    def call(tl: Timeline | str | os.PathLike[str] | list[Any], /, *, ctx: StageContext | None = None,
             base_dir: str | os.PathLike[str] | None = None, **params: Any) -> Timeline:
        if not isinstance(tl, Timeline):
            tl = load(*(tl if isinstance(tl, (list, tuple)) else [tl]))
        model = validate(name, params)
        context = ctx or StageContext(base_dir=Path(base_dir) if base_dir else Path.cwd())
        return st.apply(tl, model, context)

    call.__name__ = call.__qualname__ = name.replace("-", "_")
    fields = ", ".join(f"{k}" for k in getattr(st.Params, "model_fields", {}))
    call.__doc__ = f"{(type(st).__doc__ or name).strip()}\n\nParameters: {fields}"
    return call


class _Stages:
    """Attribute access to every registered stage: stages.export(tl, presets=[...])."""

    def __getattr__(self, attr: str) -> StageFunction:
        if attr.startswith("__"):
            raise AttributeError(attr)
        names = registry()
        name = attr if attr in names else attr.replace("_", "-")
        if name not in names:
            raise AttributeError(f"no stage '{attr}' (stages: {', '.join(sorted(names))})")
        return stage(name)

    def __dir__(self) -> list[str]:
        return sorted(n.replace("-", "_") for n in registry())


stages = _Stages()


def __getattr__(attr: str) -> StageFunction:  # module attribute style: api.export(tl, ...)
    try:
        return getattr(stages, attr)
    except AttributeError:
        raise AttributeError(f"module 'pipeline.api' has no attribute '{attr}'") from None


__all__ = ["Pipeline", "RunReport", "Timeline", "load", "stage", "stages", "validate"]
