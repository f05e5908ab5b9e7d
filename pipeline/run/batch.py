"""Runs a batch (pipeline.run.matrix) on an executor and collects one result per row.

Everything that can be refused is refused before the first row runs: every row's
parameters, every output path (the output policy, across rows), the batch's cost against
the budget. Then the executor runs the rows (pipeline.run.executors: local processes or a
Ray cluster); a row that fails is reported with its reason and the others go on.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable, Iterable

from pipeline.errors import InputError
from pipeline.run.batchresult import BatchResult, BatchView, RowResult
from pipeline.run.matrix import BatchRow, load_batch
from pipeline.run.outputs import check_outputs


def prepare(rows: list[BatchRow], overwrite: bool) -> list[Any]:
    """Each row's starting timeline, after the output policy was applied to every file
    every row writes (before anything runs)."""
    from pipeline.run.runner import initial_timeline

    starts = [initial_timeline(r.spec) for r in rows]
    for row, start in zip(rows, starts):
        check_outputs(row.spec, start, overwrite)
    return starts


def check_budget(rows: list[BatchRow], budget: float | None) -> float | None:
    """The batch's generation cost (each distinct request once: rows that share a shot pay
    for it once; None when a price is unknown); InputError when it passes the budget, or a
    price is unknown and there is a budget."""
    from pipeline.providers.cost import fmt_usd
    from pipeline.run.stage import StageContext, get_stage

    quotes: dict[str, float | None] = {}
    for row in rows:
        ctx = StageContext(base_dir=row.spec.base_dir)
        for step in row.spec.steps:
            quote = getattr(get_stage(step.name), "quote", None)
            if callable(quote) and step.model is not None:
                for key, usd in quote(step.model, ctx):
                    quotes[key] = usd
    unknown = [k for k, v in quotes.items() if v is None]
    if budget is None:
        return None if unknown else sum(v for v in quotes.values() if v)
    if unknown:
        raise InputError(f"--budget {budget:.2f}: no price is known for {len(unknown)} shot(s) of the batch "
                         "(set one in a REELFORGE_PRICES file); nothing was submitted")
    total = sum(v for v in quotes.values() if v)
    if total > budget:
        paid = sum(1 for v in quotes.values() if v)
        raise InputError(f"--budget {budget:.2f}: the batch would cost about {fmt_usd(total)} ({paid} shots to pay "
                         f"for across {len(rows)} rows); nothing was submitted")
    return total


def run_batch(path: str | Path, matrix: str | Path | None = None, *, executor: str = "local",
              address: str | None = None, shared_fs: bool = False, variants: Iterable[str] = (),
              variables: dict[str, Any] | None = None, force: Iterable[str] = (), use_cache: bool = True,
              budget: float | None = None, overwrite: bool = False, workers: int | None = None,
              quiet: bool = False, view_factory: Callable[[int], BatchView] | None = None,
              dry_run: bool = False) -> BatchResult:
    """Validate the whole batch, then run its rows on the executor ("local" or "ray").
    A dry run stops after the checks: every row "planned", with the files it would write."""
    from pipeline.run.executors import get_executor
    from pipeline.run.runner import check_force

    runner = get_executor(executor, address=address, shared_fs=shared_fs, workers=workers)
    rows = load_batch(path, matrix, variants, variables)
    force = list(force)
    check_force([r.spec for r in rows], force)
    starts = prepare(rows, overwrite)
    cost = check_budget(rows, budget)
    if dry_run:
        from pipeline.run.outputs import planned_outputs

        planned = [RowResult(r.index, r.name, r.label, "planned", [{"path": str(p.path)} for p in planned_outputs(r.spec)])
                   for r in rows]
        return BatchResult(executor, planned, 0.0, cost=cost)
    from pipeline.run.record import check_review_paths, utc_now

    check_review_paths([r.spec for r in rows], overwrite)  # the batch's page replaces no file of the user's
    options = {"budget": budget, "overwrite": overwrite}
    started, started_at = time.monotonic(), utc_now()
    view = view_factory(len(rows)) if view_factory else BatchView(len(rows), quiet)
    results = sorted(runner.run(rows, starts, view, force=force, use_cache=use_cache, options=options),
                     key=lambda r: r.index)
    result = BatchResult(executor, results, time.monotonic() - started, cost=cost,
                         providers=getattr(runner, "limiter_stats", None) or None)
    result.page = _write_page(path, rows, results, started_at, budget, overwrite)
    return result


def _write_page(path: str | Path, rows: list[BatchRow], results: list[RowResult], started_at: str,
                budget: float | None, overwrite: bool) -> Path | None:
    """The batch's record and review page, beside the outputs: one section per row (what
    it delivered, its state and time). Rows bring no timeline back from where they ran, so
    the page shows their outputs, not their shots or checks."""
    from pipeline.model.clips import empty_timeline
    from pipeline.run.record import write_run_or_warn
    from pipeline.run.runner import RunResult

    specs = {r.index: r.spec for r in rows}
    runs = [RunResult(name=r.name, variant=r.label or None, timeline=empty_timeline(), outputs=list(r.outputs),
                      steps=[{"label": f"row {r.index}", "stage": "batch", "state": r.state,
                              "seconds": round(r.seconds, 3)}],
                      seconds=r.seconds, error=r.reason if r.state == "failed" else "") for r in results]
    return write_run_or_warn(Path(path), [specs[r.index] for r in results], runs, started_at, budget, overwrite)
