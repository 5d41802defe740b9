"""The registry of checks: named functions that judge one requirement on one target."""

from __future__ import annotations

from collections.abc import Callable

from conformance.catalog.model import Requirement
from conformance.target.context import TargetContext
from conformance.verdicts import CheckSkipped, Evidence

CheckFunction = Callable[[TargetContext, Requirement], Evidence]


CHECKS: dict[str, CheckFunction] = {}


def register(name: str) -> Callable[[CheckFunction], CheckFunction]:
    """Add a check to the registry under ``name``."""

    def wrap(func: CheckFunction) -> CheckFunction:
        CHECKS[name] = func
        return func

    return wrap


def run_check(ctx: TargetContext, requirement: Requirement) -> Evidence:
    """Judge ``requirement`` on ``ctx``'s target with its registered check."""
    try:
        check = CHECKS[requirement.check]
    except KeyError:
        raise CheckSkipped(f"no check named {requirement.check!r} is registered") from None
    return check(ctx, requirement)
