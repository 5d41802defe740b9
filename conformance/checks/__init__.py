"""Checks: the registry, the probes they share, request bodies, and the checks themselves.

Importing this package registers every built-in check (the response, lifecycle and fuzzing modules).
"""

from conformance.checks import fuzz, lifecycle, response
from conformance.checks.registry import CHECKS, CheckFunction, register, run_check

__all__ = ["CHECKS", "CheckFunction", "fuzz", "lifecycle", "register", "response", "run_check"]
