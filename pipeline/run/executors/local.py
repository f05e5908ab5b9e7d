"""The local executor: the runner on this machine. Rows are independent, so several run at
once in a process pool sized to the machine (each row's encode is one ffmpeg process);
with one worker, or one row to run, they run in this process one after another."""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any

from pipeline.model.timeline import Timeline
from pipeline.run.batchresult import BatchView, RowResult
from pipeline.run.executors.rows import from_cache, run_here
from pipeline.run.matrix import BatchRow


def machine_workers() -> int:
    """Rows at once on this machine: one per CPU this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


class LocalExecutor:
    name = "local"

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers

    def run(self, rows: list[BatchRow], starts: list[Timeline], view: BatchView, *, force: list[str],
            use_cache: bool, options: dict[str, Any]) -> list[RowResult]:
        results: list[RowResult] = []
        todo: list[tuple[BatchRow, Timeline]] = []
        with view:
            for row, start in zip(rows, starts):
                hit = from_cache(row, start, force, use_cache, options)
                if hit is not None:
                    results.append(hit)
                    view.row_finished(hit)
                else:
                    todo.append((row, start))
            workers = min(self.workers or machine_workers(), len(todo))
            if workers <= 1:
                for row, start in todo:
                    view.row_started(row)
                    results.append(_result(row, run_here(row.spec, start, force, use_cache, options)))
                    view.row_finished(results[-1])
                return results
            # fork: the children inherit the registry (plugins, stages registered at run
            # time) and the environment exactly as this process has them
            pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("fork"))
            try:
                pending: dict[Future[dict[str, Any]], BatchRow] = {}
                for row, start in todo:
                    pending[pool.submit(run_here, row.spec, start, force, use_cache, options)] = row
                    view.row_started(row)
                while pending:
                    finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                    for fut in finished:
                        row = pending.pop(fut)
                        results.append(_failed(row, fut.exception()) if fut.exception() else _result(row, fut.result()))
                        view.row_finished(results[-1])
            except BaseException:
                pool.shutdown(wait=False, cancel_futures=True)
                raise
            pool.shutdown(wait=True)
        return results


def _result(row: BatchRow, data: dict[str, Any]) -> RowResult:
    return RowResult(row.index, row.name, row.label, data["state"], data["outputs"], data["reason"],
                     data["seconds"], node="local", warnings=data.get("warnings", []))


def _failed(row: BatchRow, exc: BaseException | None) -> RowResult:
    from pipeline.run.executors.rows import one_line

    return RowResult(row.index, row.name, row.label, "failed", [], one_line(exc) if exc else "failed",
                     0.0, node="local")

