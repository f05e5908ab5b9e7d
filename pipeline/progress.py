"""Progress reporting, kept apart from the work: engines call a Reporter, the UI decides
how to show it. This Reporter writes plain lines on stderr (nothing when quiet); the
command line installs one that draws rich bars and tables on a terminal
(pipeline.cli.progress)."""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from typing import Any, Iterator, Protocol, Sequence

# A table cell: its text, and how it went ("pass", "warn", "fail" or "" for plain text).
Cell = tuple[str, str]


class Task(Protocol):
    def update(self, done: float, speed: float | None = None) -> None: ...


class Reporter:
    """Shows progress and messages on stderr (stdout stays free for --json).

    `plain` says whether a live display must be avoided (stderr is no terminal); this
    base class always writes plain lines, subclasses with a display consult it."""

    def __init__(self, quiet: bool = False, force_plain: bool | None = None) -> None:
        self.quiet = quiet
        self.plain = (not sys.stderr.isatty()) if force_plain is None else force_plain
        self._lock = threading.Lock()

    def info(self, message: str) -> None:
        if not self.quiet:
            print(message, file=sys.stderr, flush=True)

    def warn(self, message: str) -> None:
        print(f"warning: {message}", file=sys.stderr, flush=True)

    @contextlib.contextmanager
    def task(self, label: str, total: float) -> Iterator[Task]:
        if self.quiet:
            yield NullTask()
        else:
            task = PlainTask(label, total)
            yield task
            task.finish()

    def table(self, title: str, columns: Sequence[str], rows: Sequence[Sequence[Cell]]) -> None:
        """A result table (shown even when quiet: it is the answer, not progress)."""
        width = [max([len(c)] + [len(r[i][0]) for r in rows]) for i, c in enumerate(columns)]
        lines = [title, "  ".join(c.ljust(w) for c, w in zip(columns, width)).rstrip()]
        lines += ["  ".join(cell[0].ljust(w) for cell, w in zip(r, width)).rstrip() for r in rows]
        print("\n".join(lines), file=sys.stderr, flush=True)

    def shots(self, shots: list[str]) -> "ShotLines":
        """Progress for several shots made at once (a context manager)."""
        return ShotLines(self, shots)


class NullTask:
    def update(self, done: float, speed: float | None = None) -> None:
        pass


class PlainTask:
    """A line at every quarter of the work, and one when it is done."""

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


class _ShotTask:
    def __init__(self, lines: "ShotLines", shot: str, total: float) -> None:
        self.lines, self.shot, self.total = lines, shot, total or 1.0

    def update(self, done: float, speed: float | None = None) -> None:
        self.lines.update(self.shot, 100.0 * min(1.0, done / self.total))


class ShotReporter(Reporter):
    """A Reporter bound to one shot, so providers report through the ordinary interface."""

    def __init__(self, lines: "ShotLines", shot: str) -> None:
        parent = lines.parent
        super().__init__(quiet=parent.quiet, force_plain=parent.plain)
        self.lines, self.shot = lines, shot

    def info(self, message: str) -> None:
        self.lines.message(f"shot {self.shot}: {message}", warn=False)

    def warn(self, message: str) -> None:
        self.lines.message(f"shot {self.shot}: {message}", warn=True)

    @contextlib.contextmanager
    def task(self, label: str, total: float) -> Iterator[Task]:
        self.lines.label(self.shot, label)
        yield _ShotTask(self.lines, self.shot, total)


class ShotLines:
    """Plain progress of several shots: `shot a: 25%` lines, `shot a: done`; with quiet,
    only warnings. A context manager; `reporter(shot)` is the Reporter of one shot."""

    def __init__(self, parent: Reporter, shots: list[str]) -> None:
        self.parent, self.shots = parent, shots
        self._next: dict[str, float] = {s: 25.0 for s in shots}
        self._lock = threading.Lock()

    def __enter__(self) -> "ShotLines":
        return self

    def __exit__(self, *exc: Any) -> None:
        pass

    def reporter(self, shot: str) -> Reporter:
        return ShotReporter(self, shot)

    def message(self, text: str, warn: bool) -> None:
        if warn:
            text = f"warning: {text}"
        elif self.parent.quiet:
            return
        with self._lock:
            self.write(text)

    def write(self, text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    def label(self, shot: str, label: str) -> None:
        pass

    def update(self, shot: str, percent: float) -> None:
        if self.parent.quiet:
            return
        with self._lock:
            if percent >= self._next[shot] and percent < 100:
                self.write(f"shot {shot}: {percent:.0f}%")
                while self._next[shot] <= percent:
                    self._next[shot] += 25.0

    def done(self, shot: str) -> None:
        self.finish(shot, "done")

    def failed(self, shot: str) -> None:
        self.finish(shot, "failed")

    def finish(self, shot: str, state: str) -> None:
        if not self.parent.quiet:
            self.message(f"shot {shot}: {state}", warn=False)


_default: Reporter | None = None


def default_reporter() -> Reporter:
    global _default
    if _default is None:
        _default = Reporter()
    return _default


def set_default_reporter(reporter: Reporter) -> None:
    global _default
    _default = reporter
