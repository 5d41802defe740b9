"""Checks: the registry, the probes they share, request bodies, and the checks themselves.

Importing this package registers every built-in check (the response, lifecycle, robustness, isolation and fuzzing
modules).
"""

from conformance.checks import fuzz, isolation, lifecycle, response, robustness
from conformance.checks.registry import CHECKS, CheckFunction, CheckSpec, register, run_check, validate_rows

__all__ = [
    "CHECKS",
    "CheckFunction",
    "CheckSpec",
    "fuzz",
    "isolation",
    "lifecycle",
    "register",
    "response",
    "robustness",
    "run_check",
    "validate_rows",
]
