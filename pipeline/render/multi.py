"""Render many outputs in one ffmpeg process (one decode, one composition per frame size,
one encode per output), with a shared first pass for two-pass outputs."""

from __future__ import annotations

import contextlib
import dataclasses
import tempfile
from pathlib import Path
from typing import Sequence

from ..atomic import atomic_output
from ..progress import Reporter
from .graph import OutputJob, build_jobs_argv


def render_jobs(jobs: Sequence[OutputJob], label: str = "export", reporter: Reporter | None = None) -> list[Path]:
    """Render every job atomically. Jobs whose settings ask for pass 2 get one analysis run
    first (all of them in one process, video only, to the null muxer)."""
    from .run import run_ffmpeg

    for job in jobs:
        job.tl.validate()
    duration = max(float(job.tl.duration) for job in jobs)
    with contextlib.ExitStack() as stack:
        two_pass = [j for j in jobs if j.settings.pass_num == 2]
        if two_pass:
            logdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="reelforge-2pass-")))
            fixed = []
            for i, job in enumerate(jobs):
                if job.settings.pass_num == 2:
                    s = dataclasses.replace(job.settings, passlogfile=str(logdir / f"pass{i}"))
                    job = dataclasses.replace(job, settings=s)
                fixed.append(job)
            jobs = fixed
            first = [dataclasses.replace(j, settings=dataclasses.replace(j.settings, pass_num=1), analysis=True)
                     for j in jobs if j.settings.pass_num == 2]
            run_ffmpeg(build_jobs_argv(first), duration, label=f"{label} (first pass)", reporter=reporter)
        tmp_jobs = [dataclasses.replace(j, path=stack.enter_context(atomic_output(j.path))) for j in jobs]
        run_ffmpeg(build_jobs_argv(tmp_jobs), duration, label=label, reporter=reporter)
    return [j.path for j in jobs]
