"""The Ray executor: each row of a batch is a Ray task on the cluster.

The driver (this process) serves rows from its cache first (no task for them); sends every
file the other rows read through Ray's object store (each content put once; a node fetches
it once, see raynode); submits one task per row asking for the CPUs its encode uses, retried
by Ray when the worker running it dies; and writes what each task sends back: every file's
digest must match what the node wrote and verified, its probe must agree with the node's,
and it lands at its path atomically (a retried or failed row leaves nothing partial).
A row that generates shots is two tasks: the shots (a quarter of a CPU, waiting on the
provider; every shot takes a slot of the one cluster-wide limiter, an actor, see limiter),
then the rest of the row with the CPUs of its encode, fed the first task's result.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from pipeline.errors import InputError, ReelforgeError
from pipeline.model.timeline import Timeline
from pipeline.run.batchresult import BatchView, RowResult
from pipeline.run.executors.rows import from_cache, from_row_cache, one_line, save_row_cache
from pipeline.run.matrix import BatchRow

MAX_RETRIES = 3  # times Ray runs a row again after the worker running it died
SHOT_CPUS = 0.25  # a task that only waits on providers: four to a CPU


def import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise InputError("--executor ray: Ray is not installed here (pip install 'reelforge[ray]')") from None
    return ray


def connect(address: str | None) -> bool:
    """Connect this process to the cluster; True when it was not connected before. No
    address: RAY_ADDRESS, else a cluster started on this machine (Ray's own rules)."""
    import logging

    ray = import_ray()
    if ray.is_initialized():
        return False
    try:
        ray.init(address=address or None, log_to_driver=False, logging_level=logging.WARNING,
                 configure_logging=True, namespace="reelforge")
    except (ConnectionError, ValueError, RuntimeError) as exc:
        where = address or os.environ.get("RAY_ADDRESS") or "a local cluster"
        raise InputError(f"--address {where}: cannot connect to a Ray cluster "
                         f"({' '.join(str(exc).split())[:200]})") from None
    return True


def row_files(row: BatchRow, start: Timeline) -> list[str]:
    """Every file the row reads: the pipeline file, its media and parameter files, and the
    user's presets (the nodes know only the presets that ship with reelforge)."""
    from pipeline.files import user_presets_dir
    from pipeline.run.outputs import edit_reads

    files = {str(Path(p)) for p in edit_reads(row.spec, start)}
    presets = user_presets_dir()
    if presets.is_dir():
        files.update(str(p) for p in presets.glob("*.toml"))
    return sorted(f for f in files if os.path.isfile(f))


def _strings(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return [value] if isinstance(value, str) else []


def check_relative(row: BatchRow) -> None:
    """Without a shared filesystem a node sees the row's files only at their place relative
    to the pipeline file: a parameter naming a file by its absolute path is bad input."""
    for step in row.spec.steps:
        if step.model is None:
            continue
        for text in _strings(step.model.model_dump(mode="json")):
            for candidate in (text, text.rpartition(":")[0]):
                if candidate and os.path.isabs(candidate) and os.path.isfile(candidate):
                    raise InputError(f"{row.spec.where(*step.path)}: {step.name}: '{candidate}' is an absolute "
                                     "path; with --executor ray name files relative to the pipeline file, "
                                     "or use --shared-fs when every node sees them at that path")


def generating_steps(row: BatchRow) -> int:
    """How many leading steps run up to the last one that generates (pays a provider; its
    stage quotes a price): those run as a task of their own. 0 when none generates."""
    from pipeline.run.stage import get_stage

    found = 0
    for i, step in enumerate(row.spec.steps, 1):
        if callable(getattr(get_stage(step.name), "quote", None)):
            found = i
    return found


def task_cpus(row: BatchRow, largest_node: float) -> float:
    """CPUs a row's task asks for: one per output its encode writes at once (one ffmpeg
    process encodes them all), at most what the largest node has."""
    outputs = max([len(getattr(s.model, "presets", None) or []) for s in row.spec.steps] + [1])
    return float(max(1, min(outputs, int(largest_node) or 1)))


class RayExecutor:
    name = "ray"

    def __init__(self, address: str | None = None, shared_fs: bool = False) -> None:
        self.address = address
        self.shared_fs = shared_fs
        self.limiter_stats: dict[str, Any] = {}

    def run(self, rows: list[BatchRow], starts: list[Timeline], view: BatchView, *, force: list[str],
            use_cache: bool, options: dict[str, Any]) -> list[RowResult]:
        ray = import_ray()
        if not self.shared_fs:
            for row in rows:
                check_relative(row)
        results: list[RowResult] = []
        todo: list[tuple[BatchRow, Timeline]] = []
        for row, start in zip(rows, starts):
            hit = from_cache(row, start, force, use_cache, options) or (
                from_row_cache(row, start, options) if use_cache and not force else None)
            if hit is not None:
                results.append(hit)
            else:
                todo.append((row, start))
        with view:
            for hit in results:
                view.row_finished(hit)
            if todo:
                started_here = connect(self.address)
                try:
                    results += self._run_tasks(ray, todo, view, force, use_cache, options)
                finally:
                    if started_here:
                        ray.shutdown()
        return results

    def _limiter(self, ray: Any, rows: list[tuple[BatchRow, Timeline]], options: dict[str, Any]) -> Any:
        from pipeline.providers.generate import provider_limits
        from pipeline.run.executors.limiter import ProviderLimiter
        from pipeline.run.stage import get_stage

        if not any(callable(getattr(get_stage(s.name), "quote", None)) for r, _ in rows for s in r.spec.steps):
            return None  # nothing in this batch generates
        return ray.remote(num_cpus=0)(ProviderLimiter).remote(provider_limits(), options.get("budget"))

    def _run_tasks(self, ray: Any, todo: list[tuple[BatchRow, Timeline]], view: BatchView, force: list[str],
                   use_cache: bool, options: dict[str, Any]) -> list[RowResult]:
        from pipeline.analysis.cache import file_digest
        from pipeline.files import user_presets_dir
        from pipeline.run.executors.raynode import run_row

        largest = max([n["Resources"].get("CPU", 1) for n in ray.nodes() if n.get("Alive")] + [1])
        task = ray.remote(run_row)
        limiter = self._limiter(ray, todo, options)
        refs: dict[str, Any] = {}
        pending: dict[Any, tuple[BatchRow, Timeline, float]] = {}
        presets = user_presets_dir()
        for row, start in todo:
            files = {p: file_digest(p) for p in row_files(row, start)}
            if not self.shared_fs:
                for path, digest in files.items():
                    if digest not in refs:
                        refs[digest] = ray.put(Path(path).read_bytes())
            job = {"pipeline": str(row.spec.path.resolve()), "variant": row.variant, "name": row.spec.name,
                   "variables": {**row.fixed, **row.values}, "start": start.to_dict(), "files": files,
                   "presets_dir": str(presets) if presets.is_dir() else None, "shared_fs": self.shared_fs,
                   "force": force, "use_cache": use_cache, "options": options, "driver_cwd": os.getcwd()}
            mine = {d: refs[d] for d in files.values() if d in refs}
            name, split = f"reelforge {row.spec.name}", generating_steps(row)
            upstream = None
            if 0 < split < len(row.spec.steps):
                # the shots wait on a provider for minutes: their task holds a fraction of a
                # CPU, and the encode's CPUs are asked for only once they are there
                upstream = task.options(num_cpus=SHOT_CPUS, max_retries=MAX_RETRIES, retry_exceptions=False,
                                        scheduling_strategy="SPREAD", name=f"{name} (shots)").remote({**job, "steps": [0, split], "hand_on": True},
                                                                       mine, limiter)
                job = {**job, "steps": [split, None]}
            ref = task.options(num_cpus=task_cpus(row, largest), max_retries=MAX_RETRIES, retry_exceptions=False,
                               name=name).remote(job, mine, limiter, upstream)
            pending[ref] = (row, start, time.monotonic())
            view.row_started(row)
        results = []
        try:
            while pending:
                ready, _ = ray.wait(list(pending), num_returns=1, timeout=1.0)
                for ref in ready:
                    row, start, t0 = pending.pop(ref)
                    results.append(self._finish(ray, ref, row, start, t0, use_cache, options))
                    view.row_finished(results[-1])
        except BaseException:
            for ref in pending:
                ray.cancel(ref, force=True)
            raise
        finally:
            if limiter is not None:
                self.limiter_stats = ray.get(limiter.stats.remote())
                ray.kill(limiter)
        return results

    def _finish(self, ray: Any, ref: Any, row: BatchRow, start: Timeline, t0: float, use_cache: bool,
                options: dict[str, Any]) -> RowResult:
        from pipeline.run.executors.delivery import receive

        seconds = time.monotonic() - t0
        try:
            data = ray.get(ref)
        except ray.exceptions.RayTaskError as exc:
            cause = exc.cause if getattr(exc, "cause", None) is not None else exc
            return RowResult(row.index, row.name, row.label, "failed", [], one_line(cause), seconds)
        except ray.exceptions.RayError as exc:  # the worker died more often than it is retried
            return RowResult(row.index, row.name, row.label, "failed", [],
                             f"the task failed on the cluster ({exc.__class__.__name__})", seconds)
        node = f"{data['node'][:8]} pid {data['pid']}"
        result = RowResult(row.index, row.name, row.label, data["state"], data["outputs"], data["reason"],
                           seconds, node=node, warnings=data.get("warnings", []), shots_node=data.get("shots_node", ""))
        if data["state"] == "failed":
            return result
        try:
            written = receive(data["files"], shared=self.shared_fs, overwrite=bool(options.get("overwrite")))
        except ReelforgeError as exc:
            return RowResult(row.index, row.name, row.label, "failed", [], one_line(exc), seconds, node=node)
        if use_cache:
            save_row_cache(row, start, options, result.outputs, written)
        return result
