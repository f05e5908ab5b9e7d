"""How a run shows its steps: the runner talks to a RunView (one Row per step) and ends
with a summary. This module writes plain lines; the command line installs a display with
a live table on a terminal (pipeline.cli.runview). A RunView is also the Reporter the
stages talk to, so stage progress lands in the step's row."""

from __future__ import annotations

import contextlib
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Sequence

from pipeline.progress import Cell, Reporter, default_reporter

STATES = ("pending", "running", "cached", "done", "failed", "skipped")


@dataclass
class Row:
    label: str
    stage: str
    state: str = "pending"
    detail: str = ""
    progress: float | None = None  # 0..1 while running
    started: float = 0.0
    seconds: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class RunView(Reporter):
    """Plain-line view of a run's steps (also the base of the live view)."""

    def __init__(self, title: str, rows: list[Row], quiet: bool = False) -> None:
        super().__init__(quiet=quiet, force_plain=True)
        self.title = title
        self.rows = rows
        self.current: Row | None = None
        self.parent = default_reporter()  # shows what is not about steps (result tables)

    # ---- lifecycle ---------------------------------------------------------------------
    def __enter__(self) -> "RunView":
        self.info(f"{self.title}: {len(self.rows)} step(s)")
        return self

    def __exit__(self, *exc: Any) -> None:
        pass

    def start(self, row: Row) -> None:
        row.state, row.started, row.progress = "running", time.monotonic(), None
        self.current = row
        self._changed(row)

    def finish(self, row: Row, state: str, detail: str = "") -> None:
        row.state = state
        row.detail = detail or row.detail
        row.seconds = time.monotonic() - row.started if row.started else 0.0
        row.progress = None
        self.current = None
        self._changed(row)

    def _index(self, row: Row) -> str:
        return f"[{self.rows.index(row) + 1}/{len(self.rows)}]"

    def _changed(self, row: Row) -> None:
        if self.quiet and row.state != "failed":
            return
        secs = f" in {row.seconds:.1f}s" if row.seconds is not None and row.state in ("done", "failed") else ""
        detail = f" ({row.detail})" if row.detail else ""
        print(f"{self._index(row)} {row.label}: {row.state}{secs}{detail}", file=sys.stderr, flush=True)

    # ---- Reporter ------------------------------------------------------------------------
    @contextlib.contextmanager
    def task(self, label: str, total: float) -> Iterator[Any]:
        with super().task(label, total) as t:
            yield t

    def table(self, title: str, columns: Sequence[str], rows: Sequence[Sequence[Cell]]) -> None:
        self.parent.table(title, columns, rows)


def state_counts(result: dict[str, Any]) -> str:
    """"2 done, 1 cached in 3.4s" for one run's summary."""
    counts: dict[str, int] = {}
    for state in result["states"].values():
        counts[state] = counts.get(state, 0) + 1
    return ", ".join(f"{n} {s}" for s, n in counts.items()) + f" in {result['seconds']:.1f}s"


def file_size(path: str | Path) -> str:
    p = Path(path)
    return f"{p.stat().st_size / 1e6:.2f} MB" if p.exists() else "missing"


def print_summary(results: list[dict[str, Any]], quiet: bool = False) -> None:
    """The outputs (path, preset, size) and check results of a run, as plain lines on stderr."""
    if quiet:
        return
    outputs = [o for r in results for o in r["outputs"]]
    files = [o for o in outputs if o.get("path")]
    checks = [o for o in outputs if not o.get("path")]
    lines = ["summary:"]
    for r in results:
        lines.append(f"  {r['name']}: {state_counts(r)}")
    if files:
        lines.append("outputs:")
        for o in files:
            tag = " (cached)" if o.get("cached") else ""
            extra = {k: v for k, v in o.items() if k not in ("path", "preset", "cached", "check", "digest")}
            more = "".join(f"  {k}={v}" for k, v in extra.items())
            lines.append(f"  {o['path']}  preset={o.get('preset', '-')}  {file_size(o['path'])}{tag}{more}")
    for o in files:
        if o.get("check"):
            lines.append(f"    check: {o['check']}")
    if checks:
        lines.append("checks:")
        for o in checks:
            lines.append("  " + "  ".join(f"{k}={v}" for k, v in o.items() if k != "cached"))
    print("\n".join(lines), file=sys.stderr, flush=True)


class RunDisplay:
    """Makes the view of each run and shows the summary; this one writes plain lines."""

    def view(self, title: str, rows: list[Row], quiet: bool = False, live: bool | None = None) -> RunView:
        return RunView(title, rows, quiet)

    def summary(self, results: list[dict[str, Any]], quiet: bool = False, table: bool | None = None) -> None:
        print_summary(results, quiet)


_display = RunDisplay()


def run_display() -> RunDisplay:
    return _display


def set_run_display(display: RunDisplay) -> None:
    global _display
    _display = display
