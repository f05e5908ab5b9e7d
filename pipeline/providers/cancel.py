"""Stopping generation cleanly. Ctrl-C or SIGTERM reaches only the main thread; shots are
generated on worker threads. `cancel()` tells them to stop: waits end at once, running
ffmpeg processes are stopped, partial files are removed by their owners, and remote jobs
stay recorded (a paid job is never cancelled by an interruption; the next run resumes it).
"""

from __future__ import annotations

import threading

_EVENT = threading.Event()


class Interrupted(KeyboardInterrupt):
    """Raised in a worker thread when the run was interrupted."""


def cancel() -> None:
    """Stop every wait and every running ffmpeg process of this process's generation."""
    from pipeline.ffmpeg import stop_running

    _EVENT.set()
    stop_running()


def reset() -> None:
    from pipeline.ffmpeg import resume_running

    _EVENT.clear()
    resume_running()


def cancelled() -> bool:
    return _EVENT.is_set()


def check() -> None:
    """Raise Interrupted when the run was interrupted."""
    if _EVENT.is_set():
        raise Interrupted()


def pause(seconds: float) -> None:
    """Sleep, unless the run is interrupted meanwhile (then raise Interrupted)."""
    if _EVENT.wait(max(0.0, seconds)):
        raise Interrupted()
