"""The suite and pytest-xdist: a refusal, since the probes of a target share state within one session.

Each target's context caches probes (fuzz reports, the disposable-id pool, the ledger) for every requirement of
the session; under ``-n`` every worker would build its own, with its own run id, seed and copy of the pool.
``conformance run`` already runs one session per target in parallel (``--jobs``).
"""

from __future__ import annotations

import pytest

REFUSAL = "the conformance suite does not run under pytest-xdist (-n): its probes share state per target"


def refuse_xdist(config: pytest.Config) -> None:
    """``pytest.UsageError`` when pytest-xdist would distribute the session (``-n N``, ``-n auto``, ``--tx``)."""
    processes = config.getoption("numprocesses", None)
    transports = config.getoption("tx", None)
    if processes or transports or hasattr(config, "workerinput"):
        raise pytest.UsageError(f"{REFUSAL}; drop -n, or run several targets with `conformance run --jobs N`")
