"""Progress reporting, kept apart from the work: engines call a Reporter, the UI decides
how to show it (rich bars on a terminal, plain lines otherwise, nothing when quiet)."""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from typing import Iterator, Protocol


class Task(Protocol):
    def update(self, done: float, speed: float | None = None) -> None: ...


class Reporter:
    """Shows progress and messages on stderr (stdout stays free for --json)."""

    def __init__(self, quiet: bool = False, force_plain: bool | None = None) -> None:
        self.quiet = quiet
        self.plain = (not sys.stderr.isatty()) if force_plain is None else force_plain
        self._lock = threading.Lock()
        self._console = None

    @property
    def console(self):  # noqa: ANN201 - rich type imported lazily
        if self._console is None:
            from rich.console import Console

            self._console = Console(stderr=True, highlight=False)
        return self._console

    def info(self, message: str) -> None:
        if not self.quiet:
            print(message, file=sys.stderr, flush=True)

    def warn(self, message: str) -> None:
        print(f"warning: {message}", file=sys.stderr, flush=True)

    @contextlib.contextmanager
    def task(self, label: str, total: float) -> Iterator[Task]:
        if self.quiet:
            yield _NullTask()
        elif self.plain:
            task = _PlainTask(label, total)
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


class _NullTask:
    def update(self, done: float, speed: float | None = None) -> None:
        pass


class _PlainTask:
    def __init__(self, label: str, total: float) -> None:
        self.label, self.total = label, total or 1.0
        self.next_step = 0.25
        self.start = time.monotonic()

    def update(self, done: float, speed: float | None = None) -> None:
        frac = min(done / self.total, 1.0)
        if frac >= self.next_step and frac < 1.0:
            sp = f" {speed:.2f}x" if speed else ""
            print(f"{self.label}: {frac * 100:.0f}%{sp}", file=sys.stderr, flush=True)
            while self.next_step <= frac:
                self.next_step += 0.25

    def finish(self) -> None:
        print(f"{self.label}: done in {time.monotonic() - self.start:.1f}s", file=sys.stderr, flush=True)


class _RichTask:
    def __init__(self, progress, tid) -> None:  # noqa: ANN001
        self.progress, self.tid = progress, tid

    def update(self, done: float, speed: float | None = None) -> None:
        self.progress.update(self.tid, completed=done, speed=f"{speed:.2f}x" if speed else "")


_default: Reporter | None = None


def default_reporter() -> Reporter:
    global _default
    if _default is None:
        _default = Reporter()
    return _default


def set_default_reporter(reporter: Reporter) -> None:
    global _default
    _default = reporter
