"""Render many outputs in one ffmpeg process (one decode, one composition per frame size,
one encode per distinct stream), with a shared first pass for two-pass outputs. Outputs
whose streams can be identical are encoded once and remuxed per output
(pipeline.render.shared). When the encoders would not fit in memory together, the
outputs are split into as few processes as fit."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import tempfile
from pathlib import Path
from typing import Sequence

from pipeline.files import atomic_output
from pipeline.progress import Reporter
from pipeline.render.graph import OutputJob, build_jobs_argv

# Frames an x264 encoder keeps in flight (lookahead, B-frames, references, threads).
FRAMES_IN_FLIGHT = 64
MEMORY_SHARE = 0.5  # of the memory available when the export starts


def encoder_memory(job: OutputJob) -> int:
    """Rough bytes one output's encoder and its composition need (yuv420p frames in flight)."""
    return int(job.settings.width * job.settings.height * 1.5 * FRAMES_IN_FLIGHT)


def available_memory() -> int:
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not POSIX
        return 8 << 30


def batches(jobs: Sequence[OutputJob], budget: int) -> list[list[OutputJob]]:
    """Split jobs into the fewest groups whose encoders fit `budget` (first fit, biggest
    first); every job is in a group even when it alone exceeds the budget."""
    groups: list[list[OutputJob]] = []
    used: list[int] = []
    for job in sorted(jobs, key=encoder_memory, reverse=True):
        need = encoder_memory(job)
        for i, total in enumerate(used):
            if total + need <= budget:
                groups[i].append(job)
                used[i] += need
                break
        else:
            groups.append([job])
            used.append(need)
    order = {id(j): n for n, j in enumerate(jobs)}
    return [sorted(g, key=lambda j: order[id(j)]) for g in groups]


def render_jobs(jobs: Sequence[OutputJob], label: str = "export", reporter: Reporter | None = None,
                memory_budget: int | None = None) -> list[Path]:
    """Render every job atomically, in one ffmpeg process when memory allows; jobs whose
    streams can be identical share one encode, remuxed into each job's file."""
    from pipeline.render.shared import remux_shared, shared_encodes

    budget = memory_budget if memory_budget is not None else int(available_memory() * MEMORY_SHARE)
    with contextlib.ExitStack() as stack:
        encodes = shared_encodes(jobs, stack)
        leaders = [e.job for e in encodes]
        groups = batches(leaders, budget)
        if len(groups) > 1 and reporter is not None:
            reporter.warn(f"{label}: {len(leaders)} encodes need more memory than is free; "
                          f"rendering in {len(groups)} runs")
        for n, group in enumerate(groups, 1):
            _render_group(group, label if len(groups) == 1 else f"{label} ({n}/{len(groups)})", reporter)
        for e in encodes:
            if e.members:
                remux_shared(e.job.path, e.members)
    return [j.path for j in jobs]


def _render_group(jobs: Sequence[OutputJob], label: str, reporter: Reporter | None) -> None:
    from pipeline.ffmpeg import run_ffmpeg

    for job in jobs:
        job.tl.validate()
    duration = max(float(job.tl.duration) for job in jobs)
    with contextlib.ExitStack() as stack:
        if any(j.settings.pass_num == 2 for j in jobs):
            logdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="reelforge-2pass-")))
            jobs = [dataclasses.replace(j, settings=dataclasses.replace(j.settings, passlogfile=str(logdir / f"pass{i}")))
                    if j.settings.pass_num == 2 else j for i, j in enumerate(jobs)]
            first = [dataclasses.replace(j, settings=dataclasses.replace(j.settings, pass_num=1), analysis=True)
                     for j in jobs if j.settings.pass_num == 2]
            run_ffmpeg(build_jobs_argv(first), duration, label=f"{label} (first pass)", reporter=reporter)
        tmp_jobs = [dataclasses.replace(j, path=stack.enter_context(atomic_output(j.path, j.seal))) for j in jobs]
        run_ffmpeg(build_jobs_argv(tmp_jobs), duration, label=label, reporter=reporter)
