"""The command line: the only part of reelforge that imports click or rich."""

from pipeline.cli.main import cli, main

__all__ = ["cli", "main"]
