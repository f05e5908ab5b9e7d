"""Runs a pipeline: each step in order over one timeline, every step's result cached.

A step's cache key is the hash of everything its result depends on: the stage (name and
code), its validated parameters, the upstream timeline (hash of its JSON), the content of
every source that timeline uses and of every file the parameters name, the base folder
and the run options. The cached result is the step's Timeline JSON plus the files it
wrote (recorded with their content hash): a step is served from cache only when those
files are still there, unchanged. Changing one parameter changes that step's key; the
steps after it re-run only if its result changed.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from pipeline.errors import InputError
from pipeline.run.outputs import check_outputs, output_fields, param_files as _param_files
from pipeline.run.spec import PipelineSpec, Step, load_specs
from pipeline.run.stage import StageContext, get_stage
from pipeline.model.timeline import Canvas, Timeline
from pipeline.model.clips import empty_timeline
from pipeline.adapters.inputs import load_inputs

CACHE_VERSION = "1"
RESULT_NEUTRAL_OPTIONS = frozenset({"budget"})


@dataclass
class RunResult:
    """What one run of one spec (one variant) produced."""

    name: str
    variant: str | None
    timeline: Timeline
    outputs: list[dict[str, Any]] = field(default_factory=list)
    states: dict[str, str] = field(default_factory=dict)  # step label -> cached/done/failed
    seconds: float = 0.0
    steps: list[dict[str, Any]] = field(default_factory=list)  # label, stage, state, seconds (run record)
    findings: list[dict[str, Any]] = field(default_factory=list)  # what steps measured (StageContext.findings)
    error: str = ""  # the step that failed and its error's first line ("" when every step ran)

    def summary(self) -> dict[str, Any]:
        return {"name": self.name, "variant": self.variant, "outputs": self.outputs, "states": self.states,
                "seconds": self.seconds}


# ---- hashing --------------------------------------------------------------------------
def _sha(obj: Any) -> str:
    blob = json.dumps(obj, sort_keys=True, default=str, ensure_ascii=False).encode()
    return hashlib.sha256(blob).hexdigest()


def timeline_hash(tl: Timeline) -> str:
    return _sha(tl.to_dict())


def timeline_sources(tl: Timeline | dict[str, Any]) -> set[str]:
    """Every media file a timeline (or its JSON dict) uses."""
    if isinstance(tl, dict):
        found = {c["source"] for c in tl.get("video", [])}
        for trk in tl.get("audio", {}).values():
            found.update(i["source"] for i in trk.get("items", []))
        return found
    found = {c.source for c in tl.video}
    for trk in tl.audio.values():
        found.update(i.source for i in trk.items)
    return found


def _digests(paths: Iterable[str]) -> dict[str, str]:
    from pipeline.analysis.cache import file_digest

    out = {}
    for p in sorted(set(paths)):
        try:
            out[p] = file_digest(p)
        except OSError:
            out[p] = "missing"
    return out


def engine_files() -> list[str]:
    """Every module of the engine (pipeline/): placement, rendering, analysis, providers."""
    root = Path(__file__).resolve().parents[1]
    return sorted(str(p) for p in root.rglob("*.py"))


@functools.lru_cache(maxsize=1)
def _engine_digest() -> str:
    """The engine's own code: a stage's result also depends on the shared modules it
    calls (placement, rendering, analysis, the offline generator), so any change to them
    invalidates results."""
    return _sha(_digests(engine_files()))


def _code_digest(stage: Any) -> str:
    try:
        src = inspect.getsourcefile(type(stage))
    except TypeError:
        src = None
    extra = str(getattr(stage, "version", "")) + _engine_digest()
    if src and os.path.exists(src):
        return _digests([src])[src] + extra
    return f"{type(stage).__module__}.{type(stage).__qualname__}{extra}"


def step_key(stage: Any, step: Step, upstream: Timeline | dict[str, Any], upstream_hash: str,
             ctx: StageContext) -> str:
    params = step.model.model_dump(mode="json") if step.model is not None else step.params
    # A file the step writes (a report) is its result, not its input: it exists from the
    # second run on, and reading it into the key would make every run a new one.
    writes = set(output_fields(stage.Params)) if hasattr(stage, "Params") else set()
    reads = {k: v for k, v in params.items() if k not in writes} if isinstance(params, dict) else params
    return _sha({
        "v": CACHE_VERSION,
        "stage": step.name,
        "code": _code_digest(stage),
        # what else a stage says its result depends on (export: which certificate signs)
        "salt": stage.cache_salt(step.model) if hasattr(stage, "cache_salt") else None,
        "params": params,
        "upstream": upstream_hash,
        "sources": _digests(timeline_sources(upstream)),
        "files": _digests(_param_files(reads, ctx.base_dir)),
        # a stage that reads what earlier steps wrote (check after export) depends on those files
        "written": _digests(o["path"] for o in ctx.outputs if o.get("path"))
        if getattr(stage, "reads_outputs", False) else None,
        "base": str(ctx.base_dir),
        # options that cannot change a result (a spending limit) stay out of the key
        "options": {k: v for k, v in ctx.options.items() if k not in RESULT_NEUTRAL_OPTIONS},
    })


# ---- the step cache -------------------------------------------------------------------
def _entry_path(key: str) -> Path:
    from pipeline.files import cache_dir

    return cache_dir() / "steps" / key[:2] / f"{key}.json"


def load_entry(key: str) -> dict[str, Any] | None:
    """A cached step result whose recorded files all still exist unchanged, else None."""
    path = _entry_path(key)
    try:
        entry = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    files = entry.get("files", {})
    if _digests(files) != files:
        return None
    return entry


def save_entry(key: str, entry: dict[str, Any]) -> None:
    from pipeline.files import write_cache_file

    write_cache_file(_entry_path(key), json.dumps(entry, ensure_ascii=False))


# ---- running ----------------------------------------------------------------------------
def initial_timeline(spec: PipelineSpec) -> Timeline:
    """The timeline the first step sees: the file's inputs (cached by content), or empty."""
    parts = {"v": CACHE_VERSION, "root": [str(p) for p in spec.inputs], "digests": _digests(map(str, spec.inputs)),
             "canvas": {k: str(v) for k, v in (spec.canvas or {}).items()}, "name": spec.name}
    key = "root-" + _sha(parts)
    entry = load_entry(key) if spec.inputs else None
    if entry is not None:
        return Timeline.from_dict(entry["timeline"])
    tl = load_inputs([str(p) for p in spec.inputs]) if spec.inputs else empty_timeline()
    if spec.canvas:
        c = spec.canvas
        tl.canvas = Canvas(width=c["width"], height=c["height"], fps=c["fps"],
                           sample_rate=c.get("sample_rate", tl.canvas.sample_rate), channels=tl.canvas.channels)
        tl.meta["canvas_fixed"] = True
    tl.meta["name"] = spec.name
    if spec.inputs:
        save_entry(key, {"timeline": tl.to_dict(), "files": {}, "outputs": []})
    return tl


def _forced(step: Step, index: int, force: Iterable[str]) -> bool:
    for f in force:
        if f in ("all", "*", step.id, step.name, str(index)):
            return True
    return False


def check_force(specs: list[PipelineSpec], force: Iterable[str]) -> None:
    for f in force:
        known = {s.id for spec in specs for s in spec.steps} | {s.name for spec in specs for s in spec.steps}
        n = max(len(spec.steps) for spec in specs)
        if f not in known and f not in ("all", "*") and not (f.isdigit() and 1 <= int(f) <= n):
            from pipeline.run.spec import _hint

            raise InputError(f"--force {f}: no such step{_hint(f, known)}; steps: {', '.join(sorted(known))}")


def run_spec(spec: PipelineSpec, dry_run: bool = False, force: Iterable[str] = (), use_cache: bool = True,
             quiet: bool = False, live: bool | None = None, start: Timeline | None = None,
             **options: Any) -> RunResult:
    """Run one spec's steps over its timeline, serving unchanged steps from the cache.
    `start`: the spec's initial timeline, whose outputs the caller has already checked
    (run_file_results checks every variant's before the first runs)."""
    from pipeline.run.view import Row, run_display

    force = list(force)
    rows = [Row(label=s.label, stage=s.name) for s in spec.steps]
    title = spec.name + (" (dry run)" if dry_run else "")
    view = run_display().view(title, rows, quiet=quiet, live=live)
    overwrite = bool(options.pop("overwrite", False))
    ctx = StageContext(reporter=view, base_dir=spec.base_dir, dry_run=dry_run, overwrite=overwrite,
                       options={k: v for k, v in options.items() if v is not None})
    started = time.monotonic()
    result = RunResult(name=spec.name, variant=spec.variant, timeline=empty_timeline())
    tl: Timeline | None = start if start is not None else initial_timeline(spec)
    if start is None:
        check_outputs(spec, tl, overwrite)  # every file any step writes, before any step runs
    with view:
        data = tl.to_dict()  # the current timeline as JSON; `tl` is built from it only when needed
        upstream = _sha(data)
        unknown = False
        for index, (step, row) in enumerate(zip(spec.steps, rows), 1):
            stage = get_stage(step.name)
            row.started = time.monotonic()  # "running" is shown once the step really runs
            key = step_key(stage, step, data, upstream, ctx)
            cacheable = use_cache and getattr(stage, "cacheable", True)
            entry = load_entry(key) if cacheable and not _forced(step, index, force) else None
            if dry_run:
                _plan(step, ctx)
                if entry is not None and not unknown:
                    tl, data = None, entry["timeline"]
                    upstream = _sha(data)
                    view.finish(row, "cached")
                else:
                    if not unknown and getattr(stage, "dry_run_exact", False):
                        # the stage validates and computes its edit without writing or spending
                        # anything: the dry run finds what the real run would refuse
                        if tl is None:
                            tl = Timeline.from_dict(data, where=f"cached result before {step.label}")
                        try:
                            tl = stage.apply(tl, step.model, ctx)
                        except InputError as exc:
                            row.state = "failed"
                            raise _in_step(exc, spec, step) from None
                        data = tl.to_dict()
                        upstream = _sha(data)
                    else:
                        unknown = True  # what follows depends on a result not computed yet
                    view.finish(row, "skipped", "would run")
                result.states[step.label] = row.state
                continue
            if entry is not None:
                tl, data = None, entry["timeline"]
                for out in entry.get("outputs", []):
                    ctx.outputs.append({**out, "cached": True})
                ctx.findings.extend(entry.get("findings", []))
                view.finish(row, "cached")
            else:
                view.start(row)
                if tl is None:
                    tl = Timeline.from_dict(data, where=f"cached result before {step.label}")
                before, found = len(ctx.outputs), len(ctx.findings)
                known = timeline_sources(data)
                try:
                    new = stage.apply(tl, step.model, ctx)
                except BaseException as exc:
                    result.states[step.label] = "failed"
                    result.outputs = list(ctx.outputs)
                    if isinstance(exc, InputError):
                        row.state = "failed"  # the error line says it all: no second line for the row
                        raise _in_step(exc, spec, step) from None
                    view.finish(row, "failed", str(exc).splitlines()[0][:80] if str(exc) else exc.__class__.__name__)
                    if isinstance(exc, Exception):  # a failed step, not an interruption
                        # what ran until then, for the run's record and review page
                        _close(result, rows, ctx, tl, data, started, spec)
                        result.error = f"{step.label}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
                        exc.partial_result = result  # type: ignore[attr-defined]
                    raise
                written = [o["path"] for o in ctx.outputs[before:] if o.get("path")]
                made = [s for s in timeline_sources(new) - known if os.path.isfile(s)]
                # What the next step sees is the result as JSON, read back, exactly as a later
                # run reads it from the cache (an int crop offset read back is a float): the
                # next step's key and input are then the same in the first run and every later one.
                canonical = Timeline.from_dict(new.to_dict(), where=step.label).to_dict()
                if cacheable:
                    save_entry(key, {"stage": step.name, "timeline": canonical, "files": _digests(written + made),
                                     "outputs": ctx.outputs[before:], "findings": ctx.findings[found:],
                                     "seconds": time.monotonic() - row.started})
                tl, data = None, canonical
                view.finish(row, "done")
            result.states[step.label] = row.state
            upstream = _sha(data)
    return _close(result, rows, ctx, tl, data, started, spec)


def _close(result: RunResult, rows: list[Any], ctx: StageContext, tl: Timeline | None, data: dict[str, Any],
           started: float, spec: PipelineSpec) -> RunResult:
    """The result of the steps run so far: the timeline they made, what they wrote and
    measured, each step's state and time."""
    result.timeline = tl if tl is not None else Timeline.from_dict(data, where=spec.name)
    result.outputs = list(ctx.outputs)
    result.findings = list(ctx.findings)
    result.steps = [{"label": r.label, "stage": r.stage, "state": r.state, "seconds": round(r.seconds or 0.0, 3)}
                    for r in rows]
    result.seconds = time.monotonic() - started
    return result


def _in_step(exc: InputError, spec: PipelineSpec, step: Step) -> InputError:
    """Say which step of which file the bad input came through."""
    if str(exc).startswith(str(spec.path)):
        return exc
    return InputError(f"{spec.path}:{step.line}: {step.name}: {exc}")


def _plan(step: Step, ctx: StageContext) -> None:
    if step.name == "generate":
        # in a dry run the generate stage prints each shot, its price and the expected time
        get_stage(step.name).apply(empty_timeline(), step.model, ctx)
    else:
        ctx.info(f"  {step.label}: {json.dumps(step.model.model_dump(mode='json') if step.model else step.params)}")


def run_file(path: str | Path, dry_run: bool = False, *, force: Iterable[str] = (), variants: Iterable[str] = (),
             variables: dict[str, Any] | None = None, use_cache: bool = True, quiet: bool | None = None,
             live: bool | None = None, summary: bool = True, **options: Any) -> list[dict[str, Any]]:
    """Run a pipeline file (every variant, or those named) and return what it wrote:
    one dict per output or check result (StageContext.outputs entries). Extra keyword
    options reach the stages as StageContext.options."""
    results = run_file_results(path, dry_run=dry_run, force=force, variants=variants, variables=variables,
                               use_cache=use_cache, quiet=quiet, live=live, summary=summary, **options)
    return [o for r in results for o in r.outputs]


def _write_failed_run(path: Path, specs: list[PipelineSpec], results: list[RunResult], started_at: str,
                      options: dict[str, Any], summary: bool) -> None:
    """The record and review page of a run a step failed in."""
    from pipeline.progress import default_reporter
    from pipeline.run.record import write_run_or_warn

    page = write_run_or_warn(path, specs[:len(results)], results, started_at, options.get("budget"),
                             bool(options.get("overwrite")))
    if page is not None and summary:
        default_reporter().info(f"review page: {page}")


def run_file_results(path: str | Path, dry_run: bool = False, *, force: Iterable[str] = (),
                     variants: Iterable[str] = (), variables: dict[str, Any] | None = None,
                     use_cache: bool = True, quiet: bool | None = None, live: bool | None = None,
                     summary: bool = True, **options: Any) -> list[RunResult]:
    """Like run_file, but one RunResult (with the final timeline) per variant."""
    from pipeline.progress import default_reporter
    from pipeline.run.view import run_display

    if quiet is None:
        quiet = default_reporter().quiet
    from pipeline.run.record import utc_now

    started_at = utc_now()
    specs = load_specs(path, variants, variables)
    force = list(force)
    check_force(specs, force)
    starts = [initial_timeline(spec) for spec in specs]
    for spec, start in zip(specs, starts):  # the whole run's outputs are decided before any variant runs
        check_outputs(spec, start, bool(options.get("overwrite")))
    if not dry_run:
        from pipeline.run.record import check_review_paths

        check_review_paths(specs, bool(options.get("overwrite")))
    results: list[RunResult] = []
    try:
        for spec, start in zip(specs, starts):
            results.append(run_spec(spec, dry_run=dry_run, force=force, use_cache=use_cache, quiet=quiet,
                                    live=live, start=start, **options))
    except InputError:
        raise  # bad input: the one error line, no summary of a run that did not happen
    except BaseException as exc:
        partial = getattr(exc, "partial_result", None)
        ran = results + ([partial] if partial is not None else [])
        if summary and not dry_run and ran:
            run_display().summary([r.summary() for r in ran], quiet=quiet, table=live)
        if partial is not None and not dry_run:  # a step failed: the page shows what ran and why
            _write_failed_run(Path(path), specs, ran, started_at, options, summary)
        raise
    if summary and not dry_run:
        run_display().summary([r.summary() for r in results], quiet=quiet, table=live)
    if not dry_run:
        from pipeline.run.record import write_run

        page = write_run(Path(path), specs, results, started_at, options.get("budget"), bool(options.get("overwrite")))
        if page is not None and summary:
            default_reporter().info(f"review page: {page}")
    return results
