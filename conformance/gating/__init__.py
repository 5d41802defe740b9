"""Gating: expectations (known failures), baselines (regressions) and the --fail-on verdict.

Judges results (``conformance.results``) only; it renders nothing.
"""

from conformance.gating.gate import (
    BLOCKING_OUTCOMES,
    Change,
    Comparison,
    Expectation,
    ExpectationOutcome,
    Gate,
    GateInputs,
    compare,
    evaluate,
    judge_expectations,
    load_expectations,
    load_inputs,
)

__all__ = [
    "BLOCKING_OUTCOMES",
    "Change",
    "Comparison",
    "Expectation",
    "ExpectationOutcome",
    "Gate",
    "GateInputs",
    "compare",
    "evaluate",
    "judge_expectations",
    "load_expectations",
    "load_inputs",
]
