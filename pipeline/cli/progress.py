"""Progress on a terminal: rich bars for tasks and for shots made at once, rich tables.
The command line installs this Reporter; the engine only knows pipeline.progress."""

from __future__ import annotations

import contextlib
from typing import Any, Iterator, Sequence

from pipeline.progress import Cell, NullTask, PlainTask, Reporter, ShotLines, Task

_COLOUR = {"pass": "green", "warn": "yellow", "fail": "bold red"}


def console() -> Any:
    """A rich console on stderr (stdout stays free for --json)."""
    from rich.console import Console

    return Console(stderr=True, highlight=False)


def print_table(title: str, columns: Sequence[str], rows: Sequence[Sequence[Cell]]) -> None:
    """A rich table on stderr, cells coloured by how they went."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=title, show_lines=False)
    for c in columns:
        table.add_column(c)
    for row in rows:
        table.add_row(*(f"[{_COLOUR[tone]}]{escape(text)}[/]" if tone in _COLOUR else escape(text)
                        for text, tone in row))
    Console(stderr=True, width=max(160, 18 * len(columns) + 4)).print(table)


class RichReporter(Reporter):
    """Rich progress bars when stderr is a terminal, plain lines otherwise."""

    def __init__(self, quiet: bool = False, force_plain: bool | None = None) -> None:
        super().__init__(quiet=quiet, force_plain=force_plain)
        self._console: Any = None

    @property
    def console(self) -> Any:
        if self._console is None:
            self._console = console()
        return self._console

    @contextlib.contextmanager
    def task(self, label: str, total: float) -> Iterator[Task]:
        if self.quiet:
            yield NullTask()
        elif self.plain:
            task = PlainTask(label, total)
            yield task
            task.finish()
        else:
            from rich.progress import (BarColumn, Progress, TaskProgressColumn, TextColumn,
                                       TimeRemainingColumn)

            with Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                TaskProgressColumn(),
                TextColumn("{task.fields[speed]}"),
                TimeRemainingColumn(),
                console=self.console,
                transient=False,
            ) as progress:
                tid = progress.add_task(label, total=total or 1, speed="")
                yield _RichTask(progress, tid)
                progress.update(tid, completed=total or 1)

    def table(self, title: str, columns: Sequence[str], rows: Sequence[Sequence[Cell]]) -> None:
        print_table(title, columns, rows)

    def shots(self, shots: list[str]) -> ShotLines:
        return ShotBars(self, shots) if not self.quiet and not self.plain else ShotLines(self, shots)


class _RichTask:
    def __init__(self, progress: Any, tid: Any) -> None:
        self.progress, self.tid = progress, tid

    def update(self, done: float, speed: float | None = None) -> None:
        self.progress.update(self.tid, completed=done, speed=f"{speed:.2f}x" if speed else "")


class ShotBars(ShotLines):
    """One rich Progress with a row per shot (rich allows one live display at a time);
    each shot's Reporter drives its own row. `parent` must have a rich `console`."""

    def __init__(self, parent: Reporter, shots: list[str]) -> None:
        super().__init__(parent, shots)
        self._progress: Any = None
        self._rows: dict[str, Any] = {}

    def __enter__(self) -> "ShotBars":
        from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

        self._progress = Progress(TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(),
                                  TextColumn("{task.fields[state]}"), TimeElapsedColumn(),
                                  console=getattr(self.parent, "console"))
        self._progress.start()
        for s in self.shots:
            self._rows[s] = self._progress.add_task(f"shot {s}", total=100, state="waiting")
        return self

    def __exit__(self, *exc: Any) -> None:
        self._progress.stop()

    def write(self, text: str) -> None:
        self._progress.console.print(text, markup=False, highlight=False)

    def label(self, shot: str, label: str) -> None:
        self._progress.update(self._rows[shot], description=f"shot {shot}", state=label)

    def update(self, shot: str, percent: float) -> None:
        self._progress.update(self._rows[shot], completed=percent)

    def finish(self, shot: str, state: str) -> None:
        self._progress.update(self._rows[shot], state=state, completed=100 if state == "done" else None)
