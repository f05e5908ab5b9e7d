"""doctor on a machine whose ffmpeg hangs: it gives up after the query timeout, says so in
one line, and leaves nothing running."""

from __future__ import annotations

import os
import time
from pathlib import Path

from pipeline.ffmpeg import QUERY_TIMEOUT
from tests.conftest import run_cli


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(")")[-1].split()[0] == "Z")


def test_doctor_reports_an_ffmpeg_that_never_answers(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    hang = tmp_path / "ffmpeg"
    # A shell that starts a child and waits forever: killing only the shell would leave the
    # child holding the output pipe open.
    hang.write_text(f"#!/bin/sh\nsleep 100000 &\necho $! >> '{pids}'\nwait\n")
    hang.chmod(0o755)
    began = time.monotonic()
    r = run_cli("doctor", env={"REELFORGE_FFMPEG": str(hang)}, timeout=QUERY_TIMEOUT * 4)
    took = time.monotonic() - began
    assert r.returncode == 1, r.stderr
    assert took < QUERY_TIMEOUT * 3
    answer = [line for line in r.stdout.splitlines() if "did not answer" in line]
    assert len(answer) == 1 and str(hang) in answer[0] and f"{QUERY_TIMEOUT:g} s" in answer[0], r.stdout
    assert "Traceback" not in r.stderr and "not ready" in r.stdout
    started = [int(p) for p in pids.read_text().split()]
    assert started and not any(_alive(p) for p in started)
