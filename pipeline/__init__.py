"""reelforge's engine. The Python API:

    from pipeline import Pipeline, Timeline, stages
    from pipeline.run.api import stage

    Pipeline.from_file("promo.yaml").run()
    tl = stage("effect")(Timeline.load("seq.timeline.json"), clip=1, function="fx.py:warm")
    tl = stages.export(tl, presets=["tiktok"], dir="out")

(`pipeline.stage` is the module of the Stage protocol; the stage-as-function helper is
`pipeline.run.api.stage`.)

See pipeline.run.api and docs/pipeline.md.
"""

from __future__ import annotations

from typing import Any

from pipeline.model.timeline import Timeline

__all__ = ["Pipeline", "Timeline", "load", "stages"]


def __getattr__(name: str) -> Any:  # the API is imported on first use: `reelforge --help` stays fast
    if name in ("Pipeline", "load", "stages", "RunReport"):
        from pipeline.run import api

        return getattr(api, name)
    raise AttributeError(f"module 'pipeline' has no attribute '{name}'")
