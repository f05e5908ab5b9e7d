"""What a stage's command line looks like beyond its Params' options, and what one
invocation of it hands to the stage. No click here: pipeline/cli builds the command.

Every attribute is optional; a stage (or plugin) with only `name`, `Params` and `apply`
gets `reelforge NAME INPUT... [options] -o OUT [--overwrite]`, where OUT.timeline.json
writes the edit and any video extension renders it.

    class MusicStage:
        name = "music"
        Params = MusicParams
        examples = ("reelforge music vo.timeline.json --track bed.m4a -o scored.timeline.json",)
        help = "Lay a music bed under INPUT, ducked under the voiceover."   # default: docstring
        command_line = CommandLine(...)                                     # default: as above

A stage may also define:
    cli_params(raw, run) -> raw    adjust what the options gave before validation
    render(tl, params, out, ctx)   write a rendered -o itself (stitch: stream copy)
    run_command(run) -> int|None   the whole command body (check: tables and --json)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel

from pipeline.run.params import Option
from pipeline.run.stage import StageContext

DEFAULT_OUTPUT_HELP = "Output: .timeline.json writes the edit, .mp4 (or .mov, .mkv) renders it."
DRY_RUN = Option("--dry-run", name="dry_run", type=bool, help="Show what would be written; encode nothing.")


@dataclass(frozen=True)
class CommandLine:
    """The parts of a stage's command that are not Params fields.

    inputs         "many": INPUT... (media or .timeline.json, loaded as one timeline);
                   "one": a single INPUT; "none": no positional argument
    output         the -o option; None for a command that writes nothing of its own
    output_field   the Params field -o fills (export: dir); None: -o is where the
                   resulting timeline is written or rendered
    output_required, output_folder   -o must be given / names a folder
    overwrite_help the help of --overwrite/-y
    extras         options that are not parameters of the edit (--dry-run, --json,
                   --budget): they reach the stage as ctx.dry_run or ctx.options[name]
    """

    inputs: Literal["many", "one", "none"] = "many"
    output: Option | None = Option("--output", short="-o", help=DEFAULT_OUTPUT_HELP)
    output_field: str | None = None
    output_required: bool = True
    output_folder: bool = False
    overwrite_help: str = "Replace OUT if it already exists."
    extras: tuple[Option, ...] = ()


@dataclass
class CommandRun:
    """One invocation of a stage's command, handed to `cli_params` and `run_command`."""

    stage: Any
    inputs: list[str]
    output: Path | None
    ctx: StageContext
    params: BaseModel | None = None  # validated, once the options are
    reads: list[str] = field(default_factory=list)  # files the options name as inputs
    flags: dict[str, str] = field(default_factory=dict)  # field name -> the option that set it

    def flag(self, name: str, default: str | None = None) -> str:
        """The option the user typed for field `name` (for messages)."""
        return self.flags.get(name) or default or "--" + name.replace("_", "-")


def command_line(stage: Any) -> CommandLine:
    return getattr(stage, "command_line", None) or CommandLine()
