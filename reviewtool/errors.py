"""One error hierarchy: every failure the user can cause or meet has a message and an exit code."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """The process exit codes, documented in README."""

    OK = 0
    FINDINGS = 1
    INPUT = 2
    ENVIRONMENT = 3
    INTERNAL = 4
    TIMEOUT = 124  # --timeout expired, as timeout(1) exits
    INTERRUPTED = 130


class ReviewtoolError(Exception):
    """Base error: a one-line message, an exit code, optional multi-line details."""

    exit_code: ExitCode = ExitCode.INTERNAL

    def __init__(self, message: str, *, details: str = "") -> None:
        super().__init__(message)
        self.message = message
        self._details = details

    def details(self) -> str:
        """A longer explanation for --verbose output, or an empty string."""
        return self._details


class InputError(ReviewtoolError):
    """The user's input (files, options, series) is unusable."""

    exit_code = ExitCode.INPUT


class MessageError(InputError):
    """One message of a series is unusable; the message names it."""

    def __init__(self, where: str, problem: str, *, details: str = "") -> None:
        super().__init__(f"{where}: {problem}", details=details)
        self.where = where
        self.problem = problem


class ApplyError(InputError):
    """A patch of the series does not apply to the tree."""


class ToolchainError(ReviewtoolError):
    """Something the environment should provide (a tree, a compiler, git) is missing or broken."""

    exit_code = ExitCode.ENVIRONMENT


class DeadlineExceeded(ReviewtoolError):
    """The run took longer than --timeout; everything in flight was stopped."""

    exit_code = ExitCode.TIMEOUT
