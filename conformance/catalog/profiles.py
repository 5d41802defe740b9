"""Run profiles: how much each run generates."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace

from conformance.errors import UsageError

# Multiplies every example count of a profile (not the steps of a lifecycle); for benchmarks of growth.
SCALE_ENV = "CONFORMANCE_EXAMPLES_SCALE"


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
    """The named profile (its counts scaled by ``$CONFORMANCE_EXAMPLES_SCALE``), or a ``UsageError``."""
    try:
        profile = PROFILES[name]
    except KeyError:
        raise UsageError(f"unknown profile {name!r} (known: {', '.join(PROFILES)})") from None
    return scaled(profile, examples_scale())


def examples_scale() -> float:
    """``$CONFORMANCE_EXAMPLES_SCALE`` as a number > 0 (default 1), or a ``UsageError``."""
    text = os.environ.get(SCALE_ENV, "").strip()
    try:
        value = float(text) if text else 1.0
    except ValueError:
        value = 0.0
    if not 0 < value < float("inf"):
        raise UsageError(f"${SCALE_ENV}: expected a number > 0, got {text!r}")
    return value


def scaled(profile: Profile, factor: float) -> Profile:
    """``profile`` with every example count (and the number of lifecycle runs) multiplied by ``factor``."""
    if factor == 1:
        return profile

    def times(count: int) -> int:
        return max(1, round(count * factor))

    return replace(
        profile,
        valid_examples=times(profile.valid_examples),
        invalid_examples=times(profile.invalid_examples),
        fuzz_examples=times(profile.fuzz_examples),
        stateful_runs=times(profile.stateful_runs),
    )
