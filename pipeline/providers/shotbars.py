"""One progress bar per shot while several shots are generated at once.

A single rich Progress holds a row per shot (rich allows one live display at a time);
each shot gets a Reporter whose `task()` drives its own row, so providers (and the local
renderer's ffmpeg progress) report through the ordinary Reporter interface. Without a
terminal, each shot prints plain progress lines; with --quiet, nothing.
"""

from __future__ import annotations

import contextlib
import sys
import threading
from typing import Any, Iterator

from pipeline.progress import Reporter, Task


class _RowTask:
    def __init__(self, bars: "ShotBars", shot: str, total: float) -> None:
        self.bars, self.shot, self.total = bars, shot, total or 1.0

    def update(self, done: float, speed: float | None = None) -> None:
        self.bars.update(self.shot, 100.0 * min(1.0, done / self.total))


class ShotReporter(Reporter):
    """A Reporter bound to one shot's row."""

    def __init__(self, bars: "ShotBars", shot: str) -> None:
        parent = bars.parent
        super().__init__(quiet=parent.quiet, force_plain=parent.plain)
        self.bars, self.shot = bars, shot

    def info(self, message: str) -> None:
        self.bars.message(f"shot {self.shot}: {message}", warn=False)

    def warn(self, message: str) -> None:
        self.bars.message(f"shot {self.shot}: {message}", warn=True)

    @contextlib.contextmanager
    def task(self, label: str, total: float) -> Iterator[Task]:
        self.bars.label(self.shot, label)
        yield _RowTask(self.bars, self.shot, total)


class ShotBars:
    """Context manager: rows for `shots`, created on entry, closed on exit."""

    def __init__(self, parent: Reporter, shots: list[str]) -> None:
        self.parent, self.shots = parent, shots
        self._progress: Any = None
        self._rows: dict[str, Any] = {}
        self._plain_next: dict[str, float] = {s: 25.0 for s in shots}
        self._lock = threading.Lock()

    def __enter__(self) -> "ShotBars":
        if not self.parent.quiet and not self.parent.plain:
            from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

            self._progress = Progress(TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(),
                                      TextColumn("{task.fields[state]}"), TimeElapsedColumn(),
                                      console=self.parent.console)
            self._progress.start()
            for s in self.shots:
                self._rows[s] = self._progress.add_task(f"shot {s}", total=100, state="waiting")
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._progress is not None:
            self._progress.stop()

    def reporter(self, shot: str) -> Reporter:
        return ShotReporter(self, shot)

    def message(self, text: str, warn: bool) -> None:
        if warn:
            text = f"warning: {text}"
        elif self.parent.quiet:
            return
        with self._lock:
            if self._progress is not None:
                self._progress.console.print(text, markup=False, highlight=False)
            else:
                print(text, file=sys.stderr, flush=True)

    def label(self, shot: str, label: str) -> None:
        if self._progress is not None:
            self._progress.update(self._rows[shot], description=f"shot {shot}", state=label)

    def update(self, shot: str, percent: float) -> None:
        if self._progress is not None:
            self._progress.update(self._rows[shot], completed=percent)
            return
        if self.parent.quiet:
            return
        with self._lock:
            if percent >= self._plain_next[shot] and percent < 100:
                print(f"shot {shot}: {percent:.0f}%", file=sys.stderr, flush=True)
                while self._plain_next[shot] <= percent:
                    self._plain_next[shot] += 25.0

    def done(self, shot: str) -> None:
        self._finish(shot, "done")

    def failed(self, shot: str) -> None:
        self._finish(shot, "failed")

    def _finish(self, shot: str, state: str) -> None:
        if self._progress is not None:
            row = self._rows[shot]
            self._progress.update(row, state=state, completed=100 if state == "done" else None)
        elif not self.parent.quiet:
            self.message(f"shot {shot}: {state}", warn=False)
