"""Public face for plugin stages: the Stage protocol, its context and the registry.

Plugins written against `pipeline.stage` keep working; the code lives in pipeline.run.stage.
"""

from pipeline.run.stage import ENTRY_POINT_GROUP, Stage, StageContext, get_stage, registry, validate_params

__all__ = ["ENTRY_POINT_GROUP", "Stage", "StageContext", "get_stage", "registry", "validate_params"]
