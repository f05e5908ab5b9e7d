"""The exception tree. Every error a user can cause or meet is one of these.

ReelforgeError
  InputError      bad input: unreadable media, invalid spec or option (exit 2)
  StageError      a stage could not do its work (exit 1)
  ProviderError   a generation or speech service failed (exit 1)
  RenderError     ffmpeg failed (exit 1); carries the tail of its stderr
  CheckFailed     a check did not pass (exit 1)
"""

from __future__ import annotations


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
