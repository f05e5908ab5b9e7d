"""How `reelforge run` shows its steps on a terminal: a live rich table, redrawn as the
steps progress, and a summary table at the end. Without a terminal the engine's plain
view (pipeline.run.view) is used."""

from __future__ import annotations

import contextlib
import sys
import time
from typing import Any, Iterator

from pipeline.cli.progress import ShotBars, console
from pipeline.progress import ShotLines
from pipeline.run.view import Row, RunDisplay, RunView, file_size, print_summary, state_counts

_STYLE = {"pending": "dim", "running": "bold yellow", "cached": "cyan", "done": "green", "failed": "bold red",
          "skipped": "dim"}


class LiveView(RunView):
    """A rich Live table of the steps, redrawn as they progress."""

    def __init__(self, title: str, rows: list[Row], quiet: bool = False) -> None:
        super().__init__(title, rows, quiet)
        self.plain = False
        self._live = None
        self.console = console()

    def __enter__(self) -> "LiveView":
        from rich.live import Live

        self._live = Live(self._table(), console=self.console, refresh_per_second=8, transient=False)
        self._live.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._live is not None:
            self._live.update(self._table())
            self._live.__exit__(*exc)
            self._live = None

    def _table(self):  # noqa: ANN202 - rich type imported lazily
        from rich.table import Table

        table = Table(title=self.title, title_justify="left", expand=False)
        for col in ("#", "step", "state", "progress", "time", "detail"):
            table.add_column(col)
        for i, row in enumerate(self.rows, 1):
            prog = ""
            if row.state == "running":
                prog = _bar(row.progress) if row.progress is not None else "…"
                secs = f"{time.monotonic() - row.started:.1f}s"
            else:
                secs = f"{row.seconds:.1f}s" if row.seconds is not None else ""
            style = _STYLE.get(row.state, "")
            table.add_row(str(i), row.label, f"[{style}]{row.state}[/]", prog, secs, row.detail[:60])
        return table

    def _changed(self, row: Row) -> None:
        if self._live is not None:
            self._live.update(self._table())

    def info(self, message: str) -> None:
        if not self.quiet:
            self.console.print(message, markup=False, highlight=False)

    def warn(self, message: str) -> None:
        self.console.print(f"warning: {message}", markup=False, highlight=False)

    @contextlib.contextmanager
    def task(self, label: str, total: float) -> Iterator[Any]:
        view, row = self, self.current

        class _RowTask:
            def update(self, done: float, speed: float | None = None) -> None:
                if row is not None:
                    row.progress = min(max(done / (total or 1), 0.0), 1.0)
                    row.detail = f"{label} {speed:.2f}x" if speed else label
                    view._changed(row)

        yield _RowTask()

    def shots(self, shots: list[str]) -> ShotLines:
        return ShotBars(self, shots) if not self.quiet else ShotLines(self, shots)


def _bar(frac: float, width: int = 20) -> str:
    n = int(round(frac * width))
    return "█" * n + "░" * (width - n) + f" {frac * 100:3.0f}%"


class LiveDisplay(RunDisplay):
    """A live table when stderr is a terminal (and not quiet), plain lines otherwise."""

    def view(self, title: str, rows: list[Row], quiet: bool = False, live: bool | None = None) -> RunView:
        if live is None:
            live = sys.stderr.isatty() and not quiet
        return LiveView(title, rows, quiet) if live else RunView(title, rows, quiet)

    def summary(self, results: list[dict[str, Any]], quiet: bool = False, table: bool | None = None) -> None:
        """The outputs (path, preset, size) and check results of a run, on stderr: a rich
        table on a terminal, plain lines otherwise."""
        if quiet:
            return
        if table if table is not None else sys.stderr.isatty():
            _summary_table(results, [o for r in results for o in r["outputs"]])
        else:
            print_summary(results)


def _summary_table(results: list[dict[str, Any]], outputs: list[dict[str, Any]]) -> None:
    from rich.table import Table

    out = console()
    for r in results:
        out.print(f"{r['name']}: {state_counts(r)}", markup=False)
    files = [o for o in outputs if o.get("path")]
    if files:
        table = Table("output", "preset", "size", "", title="outputs", title_justify="left")
        for o in files:
            table.add_row(str(o["path"]), str(o.get("preset", "-")), file_size(o["path"]),
                          "cached" if o.get("cached") else "new")
        out.print(table)
    checks = [o for o in outputs if not o.get("path")]
    if checks:
        table = Table("check", "result", title="checks", title_justify="left")
        for o in checks:
            name = str(o.get("check") or o.get("name") or "-")
            rest = "  ".join(f"{k}={v}" for k, v in o.items() if k not in ("check", "name", "cached"))
            table.add_row(name, rest)
        out.print(table)
