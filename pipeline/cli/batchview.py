"""`reelforge run --matrix/--executor`: one progress display for the whole batch (rows done
and failed, ETA) and a final table of every output with its verification result; failed
rows are listed with their reason."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from pipeline.run.batchresult import BatchResult, BatchView, RowResult


class LiveBatchView(BatchView):
    """A rich progress bar: rows finished of all, how many failed, time left."""

    def __init__(self, total: int, quiet: bool = False) -> None:
        super().__init__(total, quiet)
        self._progress: Any = None
        self._task: Any = None

    def __enter__(self) -> "LiveBatchView":
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        from pipeline.cli.progress import console

        self._progress = Progress(TextColumn("batch"), BarColumn(), MofNCompleteColumn(),
                                  TextColumn("{task.fields[counts]}"), TimeRemainingColumn(),
                                  console=console(), transient=False)
        self._progress.__enter__()
        self._task = self._progress.add_task("batch", total=self.total, counts=self._counts())
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._progress is not None:
            self._progress.__exit__(*exc)
            self._progress = None

    def _counts(self) -> str:
        return f"{self.done} done, {self.failed} failed"

    def row_finished(self, result: RowResult) -> None:
        if result.state == "failed":
            self.failed += 1
        else:
            self.done += 1
        if self._progress is None:
            return
        self._progress.update(self._task, completed=self.done + self.failed, counts=self._counts())
        if result.state == "failed":
            self._progress.console.print(f"{result.name}: failed: {result.reason}", markup=False, highlight=False)


def make_view(total: int, quiet: bool) -> BatchView:
    if not quiet and sys.stderr.isatty():
        return LiveBatchView(total, quiet)
    return BatchView(total, quiet)


def _size(path: str) -> str:
    p = Path(path)
    return f"{p.stat().st_size / 1e6:.2f} MB" if p.exists() else "missing"


def show_result(result: BatchResult, quiet: bool = False) -> None:
    """The final table (stderr): every output with its verification, then failed rows."""
    from pipeline.cli.progress import print_table

    rows = []
    for r in result.rows:
        for o in r.outputs:
            if not o.get("path") or o.get("kind"):
                continue
            verified = str(o.get("verified", "-"))
            tone = "pass" if verified.startswith("ok") else ("fail" if verified == "failed" else "")
            rows.append([(r.name, ""), (o.get("preset", "-"), ""), (o["path"], ""), (_size(o["path"]), ""),
                         (r.state, ""), (verified, tone)])
    if rows and not quiet:
        counts = result.to_dict()["counts"]
        title = (f"batch on {result.executor}: " + ", ".join(f"{n} {s}" for s, n in counts.items())
                 + f" in {result.seconds:.1f}s")
        if result.cost:
            title += f"; shots at list price: ${result.cost:.2f}"
        print_table(title, ["row", "preset", "output", "size", "state", "verified"], rows)
    for message in result.warnings:
        click.echo(f"warning: {message}", err=True)
    for r in result.failed:
        click.echo(f"failed: {r.name} ({r.label}): {r.reason}", err=True)


def run_batch_command(pipeline_file: str, matrix: str | None, executor: str | None, address: str | None,
                      shared_fs: bool, workers: int | None, as_json: bool, stdout: Any, **kw: Any) -> None:
    """The batch form of `reelforge run`; exits 1 when any row failed."""
    from pipeline.progress import default_reporter
    from pipeline.run.batch import run_batch

    quiet = default_reporter().quiet
    result = run_batch(pipeline_file, matrix, executor=executor or "local", address=address, shared_fs=shared_fs,
                       workers=workers, quiet=quiet, view_factory=lambda n: make_view(n, quiet), **kw)
    show_result(result, quiet)
    if result.page is not None:
        default_reporter().info(f"review page: {result.page}")
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=2, default=str), file=stdout)
    if result.failed:
        sys.exit(1)


def is_batch(pipeline_file: str, matrix: str | None, executor: str | None, address: str | None, shared_fs: bool,
             workers: int | None) -> bool:
    """Whether `run` takes the batch path: a matrix (option or key), or an executor option."""
    from pipeline.errors import InputError
    from pipeline.run.matrix import has_matrix

    batch = bool(matrix or executor or address or shared_fs or workers) or has_matrix(Path(pipeline_file))
    if (address or shared_fs) and executor != "ray":
        raise InputError(f"{'--address' if address else '--shared-fs'}: only with --executor ray")
    return batch
