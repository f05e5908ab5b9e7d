"""The command line's displays: rich progress and tables, and the live table of a run."""

from __future__ import annotations

from pipeline.cli.progress import RichReporter
from pipeline.cli.runview import LiveDisplay
from pipeline.progress import set_default_reporter
from pipeline.run.view import set_run_display


def install(quiet: bool = False) -> None:
    """Make the command line's displays the ones the engine reports to."""
    set_default_reporter(RichReporter(quiet=quiet))
    set_run_display(LiveDisplay())
