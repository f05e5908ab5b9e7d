"""How `reelforge run` shows its steps: a live rich table on a terminal, plain lines
otherwise. Views also act as the Reporter the stages talk to, so stage progress (ffmpeg
renders, generation) lands in the step's row instead of fighting the table for the screen."""

from __future__ import annotations

import contextlib
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from pipeline.progress import Reporter

STATES = ("pending", "running", "cached", "done", "failed", "skipped")
_STYLE = {"pending": "dim", "running": "bold yellow", "cached": "cyan", "done": "green", "failed": "bold red",
          "skipped": "dim"}


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
    """Plain-line view (also the base of the live view)."""

    def __init__(self, title: str, rows: list[Row], quiet: bool = False) -> None:
        super().__init__(quiet=quiet, force_plain=True)
        self.title = title
        self.rows = rows
        self.current: Row | None = None

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


class LiveView(RunView):
    """A rich Live table of the steps, redrawn as they progress."""

    def __init__(self, title: str, rows: list[Row], quiet: bool = False) -> None:
        super().__init__(title, rows, quiet)
        self.plain = False
        self._live = None

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


def _bar(frac: float, width: int = 20) -> str:
    n = int(round(frac * width))
    return "█" * n + "░" * (width - n) + f" {frac * 100:3.0f}%"


def make_view(title: str, rows: list[Row], quiet: bool = False, live: bool | None = None) -> RunView:
    """A live table when stderr is a terminal (and not quiet), plain lines otherwise."""
    if live is None:
        live = sys.stderr.isatty() and not quiet
    return LiveView(title, rows, quiet) if live else RunView(title, rows, quiet)


def print_summary(results: list[dict[str, Any]], quiet: bool = False, table: bool | None = None) -> None:
    """The outputs (path, preset, size) and check results of a run, on stderr: a rich
    table on a terminal, plain lines otherwise."""
    outputs = [o for r in results for o in r["outputs"]]
    if quiet:
        return
    if table if table is not None else sys.stderr.isatty():
        _summary_table(results, outputs)
        return
    files = [o for o in outputs if o.get("path")]
    checks = [o for o in outputs if not o.get("path")]
    lines = ["summary:"]
    for r in results:
        counts: dict[str, int] = {}
        for state in r["states"].values():
            counts[state] = counts.get(state, 0) + 1
        state_text = ", ".join(f"{n} {s}" for s, n in counts.items())
        lines.append(f"  {r['name']}: {state_text} in {r['seconds']:.1f}s")
    if files:
        lines.append("outputs:")
        for o in files:
            p = Path(o["path"])
            size = f"{p.stat().st_size / 1e6:.2f} MB" if p.exists() else "missing"
            tag = " (cached)" if o.get("cached") else ""
            extra = {k: v for k, v in o.items() if k not in ("path", "preset", "cached", "check", "digest")}
            more = "".join(f"  {k}={v}" for k, v in extra.items())
            lines.append(f"  {o['path']}  preset={o.get('preset', '-')}  {size}{tag}{more}")
    for o in files:
        if o.get("check"):
            lines.append(f"    check: {o['check']}")
    if checks:
        lines.append("checks:")
        for o in checks:
            lines.append("  " + "  ".join(f"{k}={v}" for k, v in o.items() if k != "cached"))
    print("\n".join(lines), file=sys.stderr, flush=True)


def _summary_table(results: list[dict[str, Any]], outputs: list[dict[str, Any]]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(stderr=True, highlight=False)
    for r in results:
        counts: dict[str, int] = {}
        for state in r["states"].values():
            counts[state] = counts.get(state, 0) + 1
        console.print(f"{r['name']}: " + ", ".join(f"{n} {s}" for s, n in counts.items()) + f" in {r['seconds']:.1f}s",
                      markup=False)
    files = [o for o in outputs if o.get("path")]
    if files:
        table = Table("output", "preset", "size", "", title="outputs", title_justify="left")
        for o in files:
            p = Path(o["path"])
            size = f"{p.stat().st_size / 1e6:.2f} MB" if p.exists() else "missing"
            table.add_row(str(p), str(o.get("preset", "-")), size, "cached" if o.get("cached") else "new")
        console.print(table)
    checks = [o for o in outputs if not o.get("path")]
    if checks:
        table = Table("check", "result", title="checks", title_justify="left")
        for o in checks:
            name = str(o.get("check") or o.get("name") or "-")
            rest = "  ".join(f"{k}={v}" for k, v in o.items() if k not in ("check", "name", "cached"))
            table.add_row(name, rest)
        console.print(table)
