"""Public face for plugin stages: the Stage protocol, its context, the registry, the
field metadata that shapes a stage's command line, and the one parameter validator.

Plugins written against `pipeline.stage` keep working; the code lives in pipeline.run.
docs/plugins.md describes the interface with a complete example.
"""

from pipeline.run.command import CommandLine, CommandRun
from pipeline.run.params import Option, ParamsError, validate
from pipeline.run.stage import ENTRY_POINT_GROUP, Stage, StageContext, get_stage, registry, validate_params

__all__ = ["ENTRY_POINT_GROUP", "CommandLine", "CommandRun", "Option", "ParamsError", "Stage", "StageContext",
           "get_stage", "registry", "validate", "validate_params"]
