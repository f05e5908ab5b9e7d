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
             options: dict[str, Any], keep_timeline: bool = False) -> dict[str, Any]:
    """Run one spec in this process, quietly; a plain dict (it crosses process boundaries):
    {"state", "outputs", "reason", "seconds", "warnings"}, and "timeline" (its JSON) when
    `keep_timeline`."""
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
    done = {"state": "cached" if cached else "done", "outputs": result.outputs, "reason": "",
            "seconds": time.monotonic() - started, "warnings": reporter.warnings}
    if keep_timeline:
        done["timeline"] = result.timeline.to_dict()
    return done


# ---- a row's result as one cache entry (rows that ran elsewhere: their steps' entries
# are in another machine's cache; this one keeps what the row wrote here) ---------------
def row_key(row: BatchRow, start: Timeline, options: dict[str, Any]) -> str:
    """Everything a row's outputs depend on, as the step cache keys do, for all its steps."""
    from pipeline.files import user_presets_dir
    from pipeline.run.outputs import param_files
    from pipeline.run.runner import CACHE_VERSION, RESULT_NEUTRAL_OPTIONS, _code_digest, _digests, _sha
    from pipeline.run.runner import timeline_sources
    from pipeline.run.stage import get_stage

    spec = row.spec
    steps = []
    for step in spec.steps:
        stage = get_stage(step.name)
        params = step.model.model_dump(mode="json") if step.model is not None else step.params
        steps.append({"stage": step.name, "code": _code_digest(stage), "params": params,
                      "salt": stage.cache_salt(step.model) if hasattr(stage, "cache_salt") else None,
                      "files": _digests(param_files(params, spec.base_dir))})
    data = start.to_dict()
    presets = user_presets_dir()
    return "row-" + _sha({
        "v": CACHE_VERSION, "name": spec.name, "start": _sha(data), "sources": _digests(timeline_sources(data)),
        "steps": steps, "base": str(spec.base_dir),
        "presets": _digests(map(str, presets.glob("*.toml"))) if presets.is_dir() else {},
        "options": {k: v for k, v in options.items() if k not in RESULT_NEUTRAL_OPTIONS | {"overwrite"}}})


def from_row_cache(row: BatchRow, start: Timeline, options: dict[str, Any]) -> RowResult | None:
    from pipeline.run.runner import load_entry

    entry = load_entry(row_key(row, start, options))
    if entry is None:
        return None
    return RowResult(row.index, row.name, row.label, "cached", [{**o, "cached": True} for o in entry["outputs"]])


def save_row_cache(row: BatchRow, start: Timeline, options: dict[str, Any], outputs: list[dict[str, Any]],
                   written: list[str]) -> None:
    from pipeline.run.runner import _digests, save_entry

    save_entry(row_key(row, start, options), {"timeline": {}, "files": _digests(written), "outputs": outputs})
