"""The one door to ffmpeg: locate it (REELFORGE_FFMPEG, imageio-ffmpeg's binary, PATH),
ask what it can do, and run it with progress from `-progress pipe:1` or quietly.
Errors become RenderError carrying the tail of ffmpeg's stderr."""

from __future__ import annotations

import collections
import functools
import os
import shutil
import subprocess
import threading
from pathlib import Path
from typing import Sequence

from pipeline.errors import InputError, RenderError
from pipeline.progress import Reporter, default_reporter

STDERR_TAIL_LINES = 12

# ffmpeg processes started by run_ffmpeg that are still running (stop_running ends them).
_RUNNING: set[subprocess.Popen] = set()
_RUNNING_LOCK = threading.Lock()


def stop_running() -> None:
    """Kill every ffmpeg process run_ffmpeg started that is still running (an interrupted
    run stopping its worker threads' renders); each caller then cleans up after itself."""
    with _RUNNING_LOCK:
        procs = list(_RUNNING)
    for proc in procs:
        if proc.poll() is None:
            proc.kill()


@functools.lru_cache(maxsize=None)
def ffmpeg_exe() -> str:
    """REELFORGE_FFMPEG if set, else imageio-ffmpeg's binary, else `ffmpeg` on PATH."""
    env = os.environ.get("REELFORGE_FFMPEG")
    if env:
        if not (Path(env).is_file() and os.access(env, os.X_OK)):
            raise InputError(f"REELFORGE_FFMPEG={env}: not an executable file")
        return env
    try:
        import imageio_ffmpeg

        exe = imageio_ffmpeg.get_ffmpeg_exe()
        if exe and Path(exe).is_file():
            return exe
    except Exception:  # pragma: no cover - package missing or no binary for this platform
        pass
    found = shutil.which("ffmpeg")
    if found:
        return found
    raise RenderError("ffmpeg not found: set REELFORGE_FFMPEG, or pip install imageio-ffmpeg")


# How long a capability query (-version, -encoders, -filters) may take; a real ffmpeg
# answers in well under a second.
QUERY_TIMEOUT = 10.0


def _query(*args: str) -> str:
    """stdout of a quick ffmpeg query. A binary that does not answer in QUERY_TIMEOUT is
    killed with everything it started, and reported as one line naming it."""
    import signal

    exe = ffmpeg_exe()
    proc = subprocess.Popen([exe, "-hide_banner", *args], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, errors="replace", start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=QUERY_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        where = "REELFORGE_FFMPEG=" if os.environ.get("REELFORGE_FFMPEG") else ""
        error = InputError if where else RenderError
        raise error(f"{where}{exe}: ffmpeg did not answer `{' '.join(args)}` within {QUERY_TIMEOUT:g} s") from None
    return out or ""


@functools.lru_cache(maxsize=None)
def ffmpeg_version() -> str:
    first = _query("-version").splitlines()[:1]
    return first[0] if first else "unknown"


@functools.lru_cache(maxsize=None)
def ffmpeg_capabilities() -> tuple[frozenset[str], frozenset[str]]:
    """(encoders, filters) the located ffmpeg offers."""

    def names(kind: str, col: int) -> frozenset[str]:
        result = set()
        for line in _query(f"-{kind}").splitlines():
            parts = line.split()
            if len(parts) > col and not line.startswith(" ="):
                result.add(parts[col])
        return frozenset(result)

    return names("encoders", 1), names("filters", 1)


def run_ffmpeg(
    argv: Sequence[str],
    duration: float,
    label: str = "render",
    reporter: Reporter | None = None,
) -> None:
    """Run ffmpeg; argv must already contain `-progress pipe:1`. Raises RenderError."""
    reporter = reporter or default_reporter()
    tail: collections.deque[str] = collections.deque(maxlen=STDERR_TAIL_LINES)
    proc = subprocess.Popen(
        list(argv),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        errors="replace",
    )
    with _RUNNING_LOCK:
        _RUNNING.add(proc)

    def drain() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            line = line.rstrip()
            if line:
                tail.append(line)

    t = threading.Thread(target=drain, daemon=True)
    t.start()
    try:
        with reporter.task(label, duration) as task:
            assert proc.stdout is not None
            speed: float | None = None
            for line in proc.stdout:
                key, _, value = line.strip().partition("=")
                if key == "out_time_us" and value.lstrip("-").isdigit():
                    task.update(max(0, int(value)) / 1e6, speed)
                elif key == "speed" and value.endswith("x"):
                    try:
                        speed = float(value[:-1])
                    except ValueError:
                        speed = None
            code = proc.wait()
            t.join(timeout=5)
            if code != 0:
                raise RenderError(f"{label}: ffmpeg failed (exit {code})", "\n".join(tail))
    except BaseException:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        t.join(timeout=5)
        raise
    finally:
        with _RUNNING_LOCK:
            _RUNNING.discard(proc)


def run_ffmpeg_quiet(argv: Sequence[str], what: str = "ffmpeg") -> bytes:
    """Run a short ffmpeg command, return stdout; RenderError with stderr tail on failure."""
    proc = subprocess.run(list(argv), stdin=subprocess.DEVNULL, capture_output=True)
    if proc.returncode != 0:
        err = proc.stderr.decode("utf-8", "replace").strip().splitlines()[-STDERR_TAIL_LINES:]
        raise RenderError(f"{what}: ffmpeg failed (exit {proc.returncode})", "\n".join(err))
    return proc.stdout
