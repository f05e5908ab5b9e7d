"""Runs a pipeline: each step in order over one timeline; export steps write files."""

from __future__ import annotations

import time
from pathlib import Path

from .progress import default_reporter
from .spec import PipelineSpec, load_spec
from .stage import StageContext, get_stage
from .timeline import Timeline, empty_timeline


def run_spec(spec: PipelineSpec, dry_run: bool = False,
             budget: float | None = None) -> tuple[Timeline, StageContext]:
    reporter = default_reporter()
    ctx = StageContext(reporter=reporter, base_dir=spec.base_dir, dry_run=dry_run,
                       options={"budget": budget} if budget is not None else {})
    tl = empty_timeline()
    tl.meta["name"] = spec.name
    for i, step in enumerate(spec.steps, 1):
        stage = get_stage(step.name)
        if dry_run and step.name == "generate":
            tl = stage.apply(tl, step.model, ctx)  # prints the shots, estimated cost and time
            continue
        started = time.monotonic()
        reporter.info(f"[{i}/{len(spec.steps)}] {step.name}")
        tl = stage.apply(tl, step.model, ctx)
        reporter.info(f"[{i}/{len(spec.steps)}] {step.name} done in {time.monotonic() - started:.1f}s")
    return tl, ctx


def run_file(path: str | Path, dry_run: bool = False, budget: float | None = None) -> list[dict]:
    spec = load_spec(path)
    tl, ctx = run_spec(spec, dry_run=dry_run, budget=budget)
    reporter = default_reporter()
    if ctx.outputs:
        reporter.info("outputs:")
        for out in ctx.outputs:
            reporter.info(f"  {out['path']}  ({out.get('preset', '')})")
    return ctx.outputs
