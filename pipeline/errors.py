"""The exception tree. Every error a user can cause or meet is one of these.

ReelforgeError
  InputError      bad input: unreadable media, invalid spec or option (exit 2)
  StageError      a stage could not do its work (exit 1)
  ProviderError   a generation or speech service failed (exit 1)
  RenderError     ffmpeg failed (exit 1); carries the tail of its stderr
  CheckFailed     a check did not pass (exit 1)
"""

from __future__ import annotations

from typing import Iterable


class ReelforgeError(Exception):
    """Base of every error reelforge raises on purpose."""

    exit_code: int = 1


class InputError(ReelforgeError):
    """Bad input from the user: a file that is not media, an invalid option or spec."""

    exit_code = 2


class StageError(ReelforgeError):
    """A stage could not complete."""


class ProviderError(ReelforgeError):
    """A remote or local provider failed."""


class RenderError(ReelforgeError):
    """ffmpeg failed. ``stderr_tail`` holds its last lines."""

    def __init__(self, message: str, stderr_tail: str = "") -> None:
        super().__init__(message)
        self.stderr_tail = stderr_tail

    def __str__(self) -> str:
        base = super().__str__()
        if self.stderr_tail:
            return f"{base}\n{self.stderr_tail}"
        return base


class CheckFailed(ReelforgeError):
    """A quality or delivery check did not pass."""


def did_you_mean(word: str, choices: Iterable[object], otherwise: str = "", cutoff: float = 0.6) -> str:
    """" (did you mean 'x'?)" naming the choice nearest to `word`, else `otherwise` (for
    the end of an "unknown ..." message)."""
    import difflib

    near = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=cutoff)
    return f" (did you mean '{near[0]}'?)" if near else otherwise
