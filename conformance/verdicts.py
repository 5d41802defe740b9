"""What a check concludes: passed, failed (the target broke the rule), skipped, error (the run broke), flaky."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from conformance.exchange import Exchange

Status = Literal["passed", "failed", "skipped", "error", "flaky"]
STATUSES: tuple[Status, ...] = ("passed", "failed", "skipped", "error", "flaky")


class Verdict(Exception):
    """Raised by a check to end with something other than a pass."""

    status: Status = "failed"

    def __init__(self, message: str, exchanges: Sequence[Exchange] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.exchanges = list(exchanges)


class CheckFailed(Verdict, AssertionError):
    """The target broke the requirement."""

    status: Status = "failed"


class CheckSkipped(Verdict):
    """The requirement cannot be judged on this target (with the reason)."""

    status: Status = "skipped"


class CheckErrored(Verdict):
    """The run could not judge: transport error, timeout, budget exhausted."""

    status: Status = "error"


class CheckFlaky(Verdict):
    """A failure that did not reproduce when replayed."""

    status: Status = "flaky"


@dataclass
class Evidence:
    """What a check looked at: how many exchanges, and the most telling ones."""

    examined: int = 0
    exchanges: list[Exchange] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready evidence."""
        return {
            "examined": self.examined,
            "notes": self.notes,
            "exchanges": [e.as_dict() for e in self.exchanges[:3]],
        }
