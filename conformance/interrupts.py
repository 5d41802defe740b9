"""Stopping a run cleanly: SIGINT/SIGTERM ask the run to stop, and everything that waits listens for it.

A signal never raises in the middle of a request or a cleanup: the first one sets ``STOP``, the recording client
refuses new requests and abandons those in flight (a create is let finish within its timeout: abandoned, it could
create its resource after the cleanup), the remaining checks end as ``error``, cleanup runs (it is
exempt), and the reports are written. A third signal abandons the cleanup (the ledger stays on disk for
``conformance cleanup --run-id``).
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from collections.abc import Iterator
from types import FrameType

STOP = threading.Event()
_REASON: list[str] = []
SIGNALS = (signal.SIGINT, signal.SIGTERM)


def request_stop(reason: str) -> None:
    """Ask the run to stop (the first reason wins)."""
    if not STOP.is_set():
        _REASON[:] = [reason]
        STOP.set()


def stop_reason() -> str:
    """Why the run was asked to stop, or an empty string."""
    return _REASON[0] if STOP.is_set() and _REASON else ""


def reset() -> None:
    """Forget an earlier stop request (a new run starts)."""
    STOP.clear()
    _REASON.clear()


def interrupted() -> bool:
    """Whether a signal asked the run to stop."""
    return stop_reason().startswith("interrupted")


@contextlib.contextmanager
def signal_guard() -> Iterator[None]:
    """Turn SIGINT/SIGTERM into a stop request for the duration of the block (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received = 0

    def handle(signum: int, frame: FrameType | None) -> None:
        nonlocal received
        received += 1
        name = signal.Signals(signum).name
        if received == 1:
            request_stop(f"interrupted by {name}")
            print(f"conformance: {name}: stopping; cleaning up, then writing the reports", file=sys.stderr, flush=True)
        elif received == 2:
            print("conformance: still cleaning up (one more signal abandons the cleanup)", file=sys.stderr, flush=True)
        else:
            raise KeyboardInterrupt

    previous = {sig: signal.getsignal(sig) for sig in SIGNALS}
    for sig in SIGNALS:
        signal.signal(sig, handle)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
