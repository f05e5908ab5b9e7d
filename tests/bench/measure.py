"""Time and peak memory of a command and of every process it starts.

Peak memory is each process's own high-water mark (VmHWM in /proc/<pid>/status, kept by
the kernel), read every few milliseconds while the process lives: the last reading before
it exits is its peak, short of growth in its final interval. Processes are grouped as
"ffmpeg" (by executable name) and "reelforge" (everything else: the Python process). On
a system without /proc the peaks are None and only the time is measured.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

POLL_S = 0.02


@dataclass
class Measured:
    seconds: float
    peak_mb: dict[str, float] = field(default_factory=dict)  # "ffmpeg" / "reelforge" -> MB
    cpu_seconds: float = 0.0  # user + system time of the command and everything it ran

    def peak(self, kind: str) -> float | None:
        return self.peak_mb.get(kind)


def _children(pid: int) -> list[int]:
    found = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as fh:
                found += [int(c) for c in fh.read().split()]
    except OSError:
        pass
    return found


def _status(pid: int) -> tuple[str, int] | None:
    """(process name, VmHWM in kB) or None when it is gone."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            text = fh.read()
    except OSError:
        return None
    name, hwm = "", 0
    for line in text.splitlines():
        if line.startswith("Name:"):
            name = line.split(None, 1)[1].strip() if len(line.split()) > 1 else ""
        elif line.startswith("VmHWM:"):
            hwm = int(line.split()[1])
    return name, hwm


def _kind(name: str) -> str:
    return "ffmpeg" if "ffmpeg" in name else "reelforge"


def run_measured(argv: Sequence[str], cwd: Path | None = None, env: dict[str, str] | None = None,
                 inherit: bool = True) -> Measured:
    """Run argv to completion (it must succeed); its wall time, CPU time and the peak memory
    of the biggest process of each kind it ran (the command itself included). `env` adds
    to this process's environment, or replaces it with inherit=False."""
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.Popen(list(argv), cwd=cwd, env={**(os.environ if inherit else {}), **(env or {})},
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peaks: dict[int, tuple[str, int]] = {}
    done = threading.Event()

    def poll() -> None:
        if not Path("/proc/self/status").exists():
            return
        while not done.is_set():
            stack = [proc.pid]
            while stack:
                pid = stack.pop()
                st = _status(pid)
                if st is not None:
                    name, hwm = st
                    old = peaks.get(pid)
                    peaks[pid] = (name or (old[0] if old else ""), max(hwm, old[1] if old else 0))
                stack += _children(pid)
            done.wait(POLL_S)

    watcher = threading.Thread(target=poll, daemon=True)
    watcher.start()
    _, err = proc.communicate()
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    done.set()
    watcher.join()
    if proc.returncode != 0:
        raise RuntimeError(f"{argv[0]} failed ({proc.returncode}): {err.decode(errors='replace')[-2000:]}")
    by_kind: dict[str, float] = {}
    for name, hwm in peaks.values():
        kind = _kind(name)
        by_kind[kind] = max(by_kind.get(kind, 0.0), hwm / 1024)
    return Measured(seconds, by_kind, cpu)


def median_of(runs: list[Measured]) -> Measured:
    """The median time and the median peak of each kind over repeated runs."""
    kinds = {k for r in runs for k in r.peak_mb}
    return Measured(statistics.median(r.seconds for r in runs),
                    {k: statistics.median(r.peak_mb.get(k, 0.0) for r in runs) for k in kinds},
                    statistics.median(r.cpu_seconds for r in runs))


def combined(*parts: Measured) -> Measured:
    """Commands run one after another: times add up, peaks are the highest."""
    kinds = {k for p in parts for k in p.peak_mb}
    return Measured(sum(p.seconds for p in parts), {k: max(p.peak_mb.get(k, 0.0) for p in parts) for k in kinds},
                    sum(p.cpu_seconds for p in parts))


def reelforge_argv(*args: str) -> list[str]:
    """The CLI exactly as a user runs it: the installed console script."""
    import sys

    script = Path(sys.executable).with_name("reelforge")
    return [str(script), *args] if script.exists() else [sys.executable, "-m", "pipeline", *args]
