"""Judging a target's rows: one at a time, or with a bounded number in flight (``workers``).

A row's verdict is computed by ``judge_row`` (the check, its verdict or crash turned into a status), wherever it
runs. With ``workers`` > 1 a target's rows are judged by a pool of that many threads, so that a remote target's
round trips overlap; the pytest items still report the rows in catalog order, each waiting for its own row's
verdict, so results, reports and the evidence of each row come out in the same order as with one worker. Rows whose
check is a ``last`` check (they judge every exchange of the run) start only once every other row of their target
is judged. Every request still goes through the target's one client: its rate limit, request budget and time
budget are shared by the pool.
"""

from __future__ import annotations

import ast
import functools
import sys
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from conformance.catalog.model import Requirement
    from conformance.target.context import TargetContext
    from conformance.verdicts import Evidence

from conformance.target.model import MAX_WORKERS

__all__ = ["RowJudge", "RowVerdict", "judge_row"]


_AST_LOCK = threading.RLock()
_WARM_IMPORTS = ("schemathesis", "schemathesis.specs.openapi.checks", "hypothesis.stateful", "jsonschema")


def _serialize_ast_parse() -> None:
    """Let one thread at a time parse Python source with ``ast.parse`` (CPython before 3.13 keeps the AST
    builder's recursion depth in shared state: two threads parsing at once can raise "SystemError: AST constructor
    recursion depth mismatch"; Hypothesis parses a state machine's source with ``inspect.getsource``)."""
    if sys.version_info >= (3, 13) or getattr(ast.parse, "_conformance_serialized", False):
        return
    original = ast.parse

    @functools.wraps(original)
    def parse(*args: Any, **kwargs: Any) -> Any:
        with _AST_LOCK:
            return original(*args, **kwargs)

    parse._conformance_serialized = True  # type: ignore[attr-defined]
    ast.parse = parse


def _warm_up() -> None:
    """Import, in this thread, what the checks import on first use (so that no two pool threads import at once)."""
    import importlib

    import conformance.checks  # noqa: F401  (the registry imports every check module)

    for name in _WARM_IMPORTS:
        importlib.import_module(name)


@dataclass(frozen=True)
class RowVerdict:
    """What judging one row concluded (the message not yet redacted)."""

    status: str
    message: str
    evidence: Evidence
    duration_ms: float


def judge_row(ctx: TargetContext, requirement: Requirement) -> RowVerdict:
    """Run the requirement's check on the target: its evidence, its verdict, or its crash as an ``error``."""
    from conformance.checks import run_check
    from conformance.verdicts import Evidence, Verdict

    started = time.perf_counter()
    status, message, evidence = "passed", "", Evidence()
    try:
        with ctx.judging(requirement.id):
            ctx.ensure_can_continue()
            evidence = run_check(ctx, requirement)
    except Verdict as verdict:
        status, message = verdict.status, verdict.message
        evidence = Evidence(examined=len(verdict.exchanges), exchanges=verdict.exchanges)
    except (Exception, BaseExceptionGroup) as exc:  # a crashed check is an error result, not a lost run
        status, message = "error", f"{type(exc).__name__}: {exc}"
    return RowVerdict(status, message, evidence, (time.perf_counter() - started) * 1000)


@dataclass(frozen=True)
class Row:
    """One row to judge on one target (``key`` names it among the session's rows)."""

    key: tuple[str, str]
    ctx: TargetContext
    requirement: Requirement
    last: bool


class _TargetPool:
    """The rows of one target judged by ``workers`` threads; ``last`` rows once every other row is judged."""

    def __init__(self, name: str, rows: Sequence[Row], workers: int) -> None:
        self.name = name
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"judge-{name}")
        self._first = [row for row in rows if not row.last]
        self._last = [row for row in rows if row.last]
        self._futures: dict[tuple[str, str], Future[RowVerdict]] = {}
        self._lock = threading.Lock()
        self._last_started = False
        self._pending = len(self._first)
        self._closed = False
        for row in self._first:
            self._futures[row.key] = self._submit(row)
        if not self._first:
            self._start_last()

    def _submit(self, row: Row) -> Future[RowVerdict]:
        future = self._executor.submit(judge_row, row.ctx, row.requirement)
        if not row.last:
            future.add_done_callback(self._one_done)
        return future

    def _one_done(self, _future: Future[RowVerdict]) -> None:
        with self._lock:
            self._pending -= 1
            ready = self._pending <= 0
        if ready:
            self._start_last()

    def _start_last(self) -> None:
        with self._lock:
            if self._last_started or self._closed:
                return
            self._last_started = True
            for row in self._last:
                self._futures[row.key] = self._submit(row)

    def verdict(self, key: tuple[str, str]) -> RowVerdict | None:
        """The verdict of the row ``key`` once it is judged; None for a row this pool does not judge."""
        with self._lock:
            future = self._futures.get(key)
        if future is None:
            if any(row.key == key for row in self._last):
                self._start_last()  # only reached if a first row's callback has not run yet
                with self._lock:
                    future = self._futures.get(key)
            if future is None:
                return None
        return future.result()

    def close(self) -> None:
        """Judge nothing more: rows not started are dropped (not judged), rows in flight finish."""
        with self._lock:
            self._closed = True
        self._executor.shutdown(wait=True, cancel_futures=True)


class RowJudge:
    """The session's pools, one per target with ``workers`` > 1, started on the first verdict asked for."""

    def __init__(self) -> None:
        self._pools: dict[str, _TargetPool] = {}
        self._lock = threading.Lock()
        self._started = False
        self._closed = False

    def start(self, rows_by_target: dict[str, tuple[int, list[Row]]]) -> None:
        """Start judging every row of each target whose ``workers`` (the int) is above 1."""
        with self._lock:
            if self._started or self._closed:
                return
            self._started = True
            if any(workers > 1 and rows for workers, rows in rows_by_target.values()):
                _serialize_ast_parse()
                _warm_up()
            for name, (workers, rows) in rows_by_target.items():
                if workers > 1 and rows:
                    self._pools[name] = _TargetPool(name, rows, min(workers, MAX_WORKERS))

    @property
    def started(self) -> bool:
        """Whether ``start`` was called."""
        return self._started

    def verdict(self, target: str, key: tuple[str, str]) -> RowVerdict | None:
        """The row's verdict from its target's pool (waiting for it), or None when the row is judged in place."""
        pool = self._pools.get(target)
        return None if pool is None else pool.verdict(key)

    def close(self) -> None:
        """Stop every pool (rows not started stay unjudged); wait for the rows in flight."""
        with self._lock:
            self._closed = True
            pools = list(self._pools.values())
        for pool in pools:
            pool.close()
