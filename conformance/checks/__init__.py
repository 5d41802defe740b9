"""Checks: the registry, the probes they share, request bodies, and the checks themselves.

Importing this package registers every built-in check (the response, lifecycle, robustness and fuzzing modules).
"""

from conformance.checks import fuzz, lifecycle, response, robustness
from conformance.checks.registry import CHECKS, CheckFunction, register, run_check

__all__ = ["CHECKS", "CheckFunction", "fuzz", "lifecycle", "register", "response", "robustness", "run_check"]
