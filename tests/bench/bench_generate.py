"""Generation throughput: six Kling shots against the local protocol server (each task
takes ~1 s to "render"), generated 3 at a time vs one after another; and a repeated run
served from the result cache."""

from __future__ import annotations

import os
import time
from pathlib import Path


def _run(shots: int, limit: int, tag: str, workdir: Path) -> float:
    from pipeline.progress import Reporter
    from pipeline.run.stage import StageContext
    from pipeline.model.clips import empty_timeline
    from stages.generate import GenerateParams, GenerateStage

    params = GenerateParams.model_validate({
        "concurrency": {"kling": limit},
        "shots": [{"id": f"s{i}", "prompt": f"{tag} shot {i}", "provider": "kling", "model": "kling-v2-5-turbo"}
                  for i in range(shots)]})
    started = time.perf_counter()
    GenerateStage().apply(empty_timeline(), params, StageContext(reporter=Reporter(quiet=True), base_dir=workdir))
    return time.perf_counter() - started


def run(workdir: Path) -> list[dict]:
    from tests.fake_kling import FakeKling
    from tests.media import make_clip

    clip = make_clip(workdir / "served.mp4", size="320x180", duration=1.0)
    server = FakeKling(clip, polls=10, account_limit=3).start()
    os.environ.update(KLING_API_BASE=server.url, KLING_ACCESS_KEY=server.access,
                      KLING_SECRET_KEY=server.secret, REELFORGE_POLL_INTERVAL="0.1")
    try:
        sequential = _run(6, 1, "seq", workdir)
        concurrent = _run(6, 3, "par", workdir)
        cached = _run(6, 3, "par", workdir)
    finally:
        server.stop()
    return [
        {"job": "generate 6 kling shots, 3 at a time", "reelforge_s": concurrent, "reference_s": sequential,
         "goal": "about 1/3 of one at a time (limit 3)", "note": f"server saw at most {server.max_in_flight} tasks in flight"},
        {"job": "generate the same 6 shots again (cached)", "reelforge_s": cached, "reference_s": None,
         "goal": "< 0.5 s, nothing submitted", "note": f"{len(server.submissions)} submissions in all"},
    ]
