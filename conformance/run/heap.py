"""The cyclic garbage collector during a run's start-up: paused, then what start-up built is frozen.

Start-up (pytest, Hypothesis, schemathesis and the catalog imported, the spec loaded) allocates a few hundred
thousand long-lived objects and almost no cyclic garbage, yet it set off about 300 collections, among them full ones
over the whole growing heap, and Hypothesis runs one more full collection before its first test: 200-700 ms of a
quick live run on the shared 2-core machine. With the collector paused until the judging starts and the start-up
heap then frozen (``gc.freeze``: the collector never scans it again), the run's collections cost about 20 ms.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

_state = {"paused": False}


@contextlib.contextmanager
def paused() -> Iterator[None]:
    """No automatic collection inside the block until :func:`settle`; afterwards the collector is as it was.

    Nested, or entered with the collector already off, it does nothing (the owner of the process decides).
    """
    if _state["paused"] or not gc.isenabled():
        yield
        return
    gc.disable()
    _state["paused"] = True
    try:
        yield
    finally:
        _state["paused"] = False
        gc.unfreeze()  # what settle() froze is collectable again (a process that calls main() more than once)
        gc.enable()


def settle() -> None:
    """Start-up is over: freeze what it built and collect again (only inside :func:`paused`; elsewhere nothing)."""
    if _state["paused"] and not gc.isenabled():
        gc.freeze()
        gc.enable()
