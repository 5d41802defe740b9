"""Exit codes and the errors that map to them."""

from __future__ import annotations

import enum
import math
from pathlib import Path
from typing import Any


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


def number_flag(flag: str, *, minimum: float = 0.0, allow_minimum: bool = False, integer: bool = False) -> Any:
    """An argparse ``type`` for ``flag``: a finite number (an integer when asked) > ``minimum`` (>= with
    ``allow_minimum``); anything else is a one-line ``UsageError`` naming the flag."""
    kind = "an integer" if integer else "a number"
    bound = f"{'>=' if allow_minimum else '>'} {minimum:g}"

    def parse(text: str) -> float | int:
        try:
            value: float | int = int(text) if integer else float(text)
        except ValueError:
            raise UsageError(f"{flag}: expected {kind} {bound}, got {text!r}") from None
        if not math.isfinite(value) or value < minimum or (value == minimum and not allow_minimum):
            raise UsageError(f"{flag}: expected {kind} {bound}, got {text!r}")
        return value

    parse.__name__ = flag
    return parse


def output_dir(flag: str) -> Any:
    """An argparse ``type`` for a folder the command will create or write into: a ``UsageError`` when the path,
    or one of its parents, exists and is not a folder."""

    def parse(text: str) -> Path:
        path = Path(text)
        if not text.strip():
            raise UsageError(f"{flag}: expected a folder, got an empty path")
        for candidate in (path, *path.parents):
            if candidate.exists() and not candidate.is_dir():
                where = "is" if candidate == path else f"is under {candidate}, which is"
                raise UsageError(f"{flag} {text}: {where} a file, not a folder")
        return path

    parse.__name__ = flag
    return parse


def text_file(flag: str) -> Any:
    """An argparse ``type`` for an input file: it must exist, be a file and be UTF-8 text."""

    def parse(text: str) -> Path:
        path = Path(text)
        try:
            path.read_bytes().decode("utf-8")
        except FileNotFoundError:
            raise UsageError(f"{flag} {text}: no such file") from None
        except IsADirectoryError:
            raise UsageError(f"{flag} {text}: is a folder, not a file") from None
        except OSError as exc:
            raise UsageError(f"{flag} {text}: cannot read: {exc.strerror or exc}") from None
        except UnicodeDecodeError as exc:
            raise UsageError(f"{flag} {text}: not UTF-8 text (byte {exc.start})") from None
        return path

    parse.__name__ = flag
    return parse
