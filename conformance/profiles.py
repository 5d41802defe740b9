"""Run profiles: how much each run generates."""

from __future__ import annotations

from dataclasses import dataclass

from conformance.errors import UsageError


@dataclass(frozen=True)
class Profile:
    """Example counts for one depth of run."""

    name: str
    valid_examples: int
    invalid_examples: int
    fuzz_examples: int
    stateful_runs: int
    stateful_steps: int


PROFILES = {
    "quick": Profile(
        "quick", valid_examples=8, invalid_examples=6, fuzz_examples=25, stateful_runs=3, stateful_steps=6
    ),
    "nightly": Profile(
        "nightly", valid_examples=80, invalid_examples=60, fuzz_examples=250, stateful_runs=30, stateful_steps=12
    ),
}


def get_profile(name: str) -> Profile:
    """The named profile, or a ``UsageError`` listing the known ones."""
    try:
        return PROFILES[name]
    except KeyError:
        raise UsageError(f"unknown profile {name!r} (known: {', '.join(PROFILES)})") from None
