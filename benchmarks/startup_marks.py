"""Wall-clock marks of one ``conformance run``: where its fixed cost goes (``python -m benchmarks.overhead --marks``).

Run as ``T_START=<epoch seconds> PYTHONPATH=<package root> python benchmarks/startup_marks.py run ...`` (a script, not
``-m``, so ``conformance`` comes from the package root being measured). It wraps, without changing them, the
functions that bound each phase, runs the command line, and prints one JSON line to stderr at exit:
``{"marks": {name: ms since T_START}, "gc": {"collections": n, "ms": m}}``. The modules it wraps are imported first,
so "imports done" is the cost of the run's imports taken together (the run itself imports some of them later).
"""

from __future__ import annotations

import atexit
import gc
import json
import os
import sys
import time
from collections.abc import Callable
from typing import Any

T0 = float(os.environ.get("T_START") or time.time())
MARKS: dict[str, float] = {}
GC = {"collections": 0, "seconds": 0.0, "started": 0.0}


def mark(name: str, *, last: bool = False) -> None:
    """Record ``name`` at its first (or, with ``last``, its latest) occurrence."""
    if last or name not in MARKS:
        MARKS[name] = (time.time() - T0) * 1000


def _collector(phase: str, info: dict[str, Any]) -> None:
    if phase == "start":
        GC["started"] = time.perf_counter()
    else:
        GC["collections"] += 1
        GC["seconds"] += time.perf_counter() - GC["started"]


def wrap(owner: Any, name: str, before: str | None, after: str | None, *, last_after: bool = True) -> None:
    """Mark ``before`` when ``owner.name`` is first called and ``after`` when a call returns."""
    original: Callable[..., Any] = getattr(owner, name)

    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if before:
            mark(before)
        try:
            return original(*args, **kwargs)
        finally:
            if after:
                mark(after, last=last_after)

    setattr(owner, name, wrapped)


def report() -> None:
    """Print the marks (one JSON line on stderr)."""
    mark("exit")
    line = {"marks": MARKS, "gc": {"collections": GC["collections"], "ms": round(GC["seconds"] * 1000, 1)}}
    print("STARTUP-MARKS " + json.dumps(line), file=sys.stderr, flush=True)


def main() -> int:
    """Install the wraps and run ``conformance`` with this process's arguments.

    Code that pauses the collector for start-up (``conformance/run/heap.py``, from ``cli.main.main``) gets the pause
    from here on instead, as its imports move before ``main`` here.
    """
    mark("interpreter up")
    gc.callbacks.append(_collector)
    try:
        from conformance.run import heap
    except ImportError:  # a commit before the pause
        return _run()
    with heap.paused():
        return _run()


def _run() -> int:
    import _pytest.main
    import pytest

    import conformance.checks.fuzz as fuzz
    import conformance.cli.main as cli
    import conformance.run.plugin as plugin
    import conformance.run.runner as runner
    import conformance.target.http as http

    mark("imports done")
    wrap(http.RecordingClient, "send", "first request", "last request")
    wrap(pytest, "main", "pytest session start", "pytest session end")
    wrap(_pytest.main.Session, "perform_collect", None, "collected")
    wrap(plugin.Case, "judge", "first judge", "last judge")
    wrap(plugin.ConformanceSession, "finish", "session finish start", None)
    wrap(fuzz, "_schema", "schemathesis schema start", "schemathesis schema end", last_after=False)
    wrap(runner, "finish_run", "reports start", "reports end")
    atexit.register(report)
    sys.argv = ["conformance", *sys.argv[1:]]
    return cli.main()


if __name__ == "__main__":
    raise SystemExit(main())
