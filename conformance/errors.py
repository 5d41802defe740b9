"""Exit codes and the errors that map to them."""

from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    """The documented process exit codes."""

    CONFORMANT = 0
    FAILURES = 1
    USAGE = 2
    INFRASTRUCTURE = 3
    INTERRUPTED = 130


class ConformanceError(Exception):
    """An error the CLI reports as one line and turns into an exit code."""

    exit_code: ExitCode = ExitCode.USAGE


class UsageError(ConformanceError):
    """Bad input: unknown vendor, unreadable spec, invalid port or URL, bad configuration."""

    exit_code = ExitCode.USAGE


class InfrastructureError(ConformanceError):
    """The target is unreachable or the run's own machinery broke."""

    exit_code = ExitCode.INFRASTRUCTURE
