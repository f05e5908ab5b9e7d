"""What every executor does with a row: serve it from the step cache when every step is
cached (no work is handed out), or run it with the runner and report what it wrote."""

from __future__ import annotations

import time
from typing import Any, Iterable, Sequence

from pipeline.errors import ReelforgeError
from pipeline.model.timeline import Timeline
from pipeline.progress import Cell, Reporter, default_reporter, set_default_reporter
from pipeline.run.batchresult import RowResult
from pipeline.run.matrix import BatchRow
from pipeline.run.spec import PipelineSpec
from pipeline.run.view import Row, RunDisplay, RunView


def _forced(force: Iterable[str]) -> bool:
    return bool(list(force))


def cached_outputs(spec: PipelineSpec, start: Timeline, options: dict[str, Any]) -> list[dict[str, Any]] | None:
    """The outputs of a run whose every step is in this machine's step cache (with the
    files it wrote unchanged), else None: the row needs no work at all."""
    from pipeline.run.runner import _sha, load_entry, step_key
    from pipeline.run.stage import StageContext, get_stage

    ctx = StageContext(base_dir=spec.base_dir, options={k: v for k, v in options.items()
                                                       if v is not None and k != "overwrite"})
    data = start.to_dict()
    upstream = _sha(data)
    outputs: list[dict[str, Any]] = []
    for step in spec.steps:
        stage = get_stage(step.name)
        if not getattr(stage, "cacheable", True):
            return None
        entry = load_entry(step_key(stage, step, data, upstream, ctx))
        if entry is None:
            return None
        outputs += [{**o, "cached": True} for o in entry.get("outputs", [])]
        data = entry["timeline"]
        upstream = _sha(data)
    return outputs


def from_cache(row: BatchRow, start: Timeline, force: Iterable[str], use_cache: bool,
               options: dict[str, Any]) -> RowResult | None:
    if not use_cache or _forced(force):
        return None
    outputs = cached_outputs(row.spec, start, options)
    if outputs is None:
        return None
    return RowResult(row.index, row.name, row.label, "cached", outputs)


def one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else exc.__class__.__name__
    return text if isinstance(exc, ReelforgeError) else f"{exc.__class__.__name__}: {text}"


class RowReporter(Reporter):
    """A row's reporter: no progress and no per-row tables (the batch shows one table at
    the end); warnings are kept, and shown once for the batch."""

    def __init__(self) -> None:
        super().__init__(quiet=True, force_plain=True)
        self.warnings: list[str] = []

    def warn(self, message: str) -> None:
        if message not in self.warnings:
            self.warnings.append(message)

    def table(self, title: str, columns: Sequence[str], rows: Sequence[Sequence[Cell]]) -> None:
        pass


class _RowDisplay(RunDisplay):
    def __init__(self, reporter: RowReporter) -> None:
        self.reporter = reporter

    def view(self, title: str, rows: list[Row], quiet: bool = False, live: bool | None = None) -> RunView:
        view = RunView(title, rows, quiet=True)
        view.warn = self.reporter.warn  # type: ignore[method-assign]
        view.parent = self.reporter
        return view


def run_here(spec: PipelineSpec, start: Timeline | None, force: list[str], use_cache: bool,
             options: dict[str, Any]) -> dict[str, Any]:
    """Run one spec in this process, quietly; a plain dict (it crosses process boundaries):
    {"state", "outputs", "reason", "seconds", "warnings"}."""
    from pipeline.run.runner import run_spec
    from pipeline.run.view import run_display, set_run_display

    started = time.monotonic()
    reporter, before, display = RowReporter(), default_reporter(), run_display()
    set_default_reporter(reporter)
    set_run_display(_RowDisplay(reporter))  # plain and quiet: no live table per row
    try:
        result = run_spec(spec, force=force, use_cache=use_cache, quiet=True, live=False, start=start, **options)
    except (ReelforgeError, OSError) as exc:
        return {"state": "failed", "outputs": [], "reason": one_line(exc), "seconds": time.monotonic() - started,
                "warnings": reporter.warnings}
    finally:
        set_default_reporter(before)
        set_run_display(display)
    cached = bool(result.states) and all(s == "cached" for s in result.states.values())
    return {"state": "cached" if cached else "done", "outputs": result.outputs, "reason": "",
            "seconds": time.monotonic() - started, "warnings": reporter.warnings}
