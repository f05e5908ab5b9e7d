"""Run one ffmpeg command with progress from `-progress pipe:1`; errors become RenderError."""

from __future__ import annotations

import collections
import subprocess
import threading
from typing import Sequence

from ..errors import RenderError
from ..progress import Reporter, default_reporter

STDERR_TAIL_LINES = 12


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


def run_ffmpeg_quiet(argv: Sequence[str], what: str = "ffmpeg") -> bytes:
    """Run a short ffmpeg command, return stdout; RenderError with stderr tail on failure."""
    proc = subprocess.run(list(argv), stdin=subprocess.DEVNULL, capture_output=True)
    if proc.returncode != 0:
        err = proc.stderr.decode("utf-8", "replace").strip().splitlines()[-STDERR_TAIL_LINES:]
        raise RenderError(f"{what}: ffmpeg failed (exit {proc.returncode})", "\n".join(err))
    return proc.stdout
