"""The self-test: the suite must catch every fault of the reference mocks, and nothing on the faithful ones.

Each case (a vendor's faithful mock, or one injected fault) is one run of the suite. With ``jobs`` > 1 the cases
run in that many worker processes (pytest is not re-entrant across threads); the table keeps the case order.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Generator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path

from conformance.catalog.loader import load_vendor, vendor_names
from conformance.errors import ExitCode, InfrastructureError, UsageError
from conformance.run.runner import RunRequest, execute

Case = tuple[str, str, tuple[str, ...]]  # (vendor, fault or "" for the faithful mock, expected requirement ids)
Outcomes = Generator["FaultOutcome", None, None]
LABEL_WIDTH = 34  # the table's fault column, widened to the longest fault name


@dataclass
class FaultOutcome:
    """What the suite said about one injected fault (``fault`` is empty for the faithful mock)."""

    vendor: str
    fault: str
    expected: tuple[str, ...]
    failed: list[str] = field(default_factory=list)
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)
    interrupted: bool = False

    @property
    def ok(self) -> bool:
        """Faithful: nothing failed or errored. Fault: every expected requirement failed (an error is no verdict)."""
        if not self.fault:
            return not self.failed and not self.errors
        return all(r in self.failed for r in self.expected)


@dataclass(frozen=True)
class CaseSettings:
    """What every case of one self-test shares."""

    profile: str
    seed: int
    report_dir: Path
    requirements: tuple[str, ...] = ()


def selftest_cases(vendors: Sequence[str], faults: Sequence[str]) -> list[Case]:
    """(vendor, fault, expected requirement ids) for the faithful mocks and every selected fault."""
    cases: list[Case] = []
    for name in vendors or vendor_names():
        vendor = load_vendor(name)
        cases.append((name, "", ()))
        cases += [(name, f, exp) for f, exp in vendor.faults.items() if not faults or f in faults]
    if faults:
        known = {f for _, f, _ in cases}
        unknown = [f for f in faults if f not in known]
        if unknown:
            raise UsageError(f"unknown fault(s): {', '.join(unknown)}")
    return cases


def run_case(case: Case, settings: CaseSettings) -> FaultOutcome:
    """Run the suite once against the vendor's embedded mock carrying the case's fault (none: the faithful one)."""
    vendor, fault, expected = case
    started = time.perf_counter()
    outcome = execute(
        RunRequest(
            vendors=[vendor],
            profile=settings.profile,
            seed=settings.seed,
            faults=[fault] if fault else [],
            report_dir=settings.report_dir / f"{vendor}-{fault or 'faithful'}",
            requirements=settings.requirements,
        )
    )
    failed = sorted(r.requirement for r in outcome.results.results if r.status == "failed")
    errors = sorted(r.requirement for r in outcome.results.results if r.status == "error")
    seconds = time.perf_counter() - started
    interrupted = outcome.exit_code == ExitCode.INTERRUPTED
    return FaultOutcome(vendor, fault, expected, failed, seconds, errors, interrupted)


def default_jobs(cases: int) -> int:
    """One worker per usable CPU, never more than there are cases."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, min(cpus, cases))


_STOPPING = threading.Event()  # set in a worker by SIGINT: the cases it has yet to start are not run


def _queued_case(case: Case, settings: CaseSettings) -> FaultOutcome:
    """``run_case`` in a worker, unless an interrupt already stopped the self-test."""
    if _STOPPING.is_set():
        return FaultOutcome(case[0], case[1], case[2], interrupted=True)
    outcome = run_case(case, settings)
    if outcome.interrupted:
        _STOPPING.set()
    return outcome


def _exit_with_parent() -> None:
    parent = multiprocessing.parent_process()
    if parent is not None:
        parent.join()
        os._exit(int(ExitCode.INTERRUPTED))


def _worker_init() -> None:
    """A worker notes SIGINT between cases (a run handles its own) and dies with the self-test."""
    signal.signal(signal.SIGINT, lambda signum, frame: _STOPPING.set())
    threading.Thread(target=_exit_with_parent, name="exit-with-parent", daemon=True).start()


def _sequential(cases: Sequence[Case], settings: CaseSettings) -> Outcomes:
    for case in cases:
        yield run_case(case, settings)


def _parallel(cases: Sequence[Case], settings: CaseSettings, jobs: int) -> Outcomes:
    """The outcomes in case order, computed ``jobs`` at a time in spawned worker processes."""
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context, initializer=_worker_init) as pool:
        futures: list[Future[FaultOutcome]] = [pool.submit(_queued_case, case, settings) for case in cases]
        try:
            for future in futures:
                yield future.result()
        except BrokenProcessPool as exc:
            raise InfrastructureError(f"a self-test worker process died: {exc}") from None
        finally:  # an error, an interrupt, or the caller stopped early: start no further case
            pool.shutdown(wait=True, cancel_futures=True)


def _row(result: FaultOutcome, width: int) -> str:
    verdict = (
        "interrupted" if result.interrupted else "ok" if result.ok else "MISSED" if result.fault else "FALSE POSITIVE"
    )
    blamed = ", ".join(result.failed) or "-"
    if result.errors:
        blamed += f"  (not judged: {', '.join(result.errors)})"
    return f"{result.vendor:<8} {result.fault or 'faithful':<{width}} {verdict:<14} {result.seconds:5.1f}s  {blamed}"


def run_selftest(
    *,
    vendors: Sequence[str],
    faults: Sequence[str],
    profile: str,
    seed: int,
    report_dir: Path,
    requirements: Sequence[str] = (),
    jobs: int | None = None,
    quiet: bool = False,
) -> ExitCode:
    """Run every case (``jobs`` at a time), print the table fault -> detected? -> failed requirements, and judge.

    Without ``quiet``, a first line says how many cases run (and the seed) and each row is printed as its case ends;
    with it, only the rows that are not ok and the final line."""
    if jobs is not None and jobs < 1:
        raise UsageError(f"--jobs: expected a number of processes >= 1, got {jobs}")
    cases = selftest_cases(vendors, faults)
    settings = CaseSettings(profile, seed, report_dir, tuple(requirements))
    workers = min(jobs, len(cases)) if jobs is not None else default_jobs(len(cases))
    width = max([LABEL_WIDTH, *(len(fault) for _, fault, _ in cases)])
    outcomes: list[FaultOutcome] = []
    if not quiet:
        print(f"selftest: {len(cases)} cases, {max(1, workers)} at a time, seed {seed}", file=sys.stderr, flush=True)
    results = _sequential(cases, settings) if workers <= 1 else _parallel(cases, settings, workers)
    try:
        for result in results:
            outcomes.append(result)
            if not quiet or not result.ok:
                print(_row(result, width), flush=True)
            if result.interrupted:
                print("conformance: selftest interrupted; the cases left were not run", file=sys.stderr)
                return ExitCode.INTERRUPTED
    finally:
        results.close()
    faults_total = [o for o in outcomes if o.fault]
    detected = [o for o in faults_total if o.ok]
    clean = [o for o in outcomes if not o.fault and o.ok]
    faithful = [o for o in outcomes if not o.fault]
    print(
        f"detected {len(detected)}/{len(faults_total)} faults with the right requirement; "
        f"faithful mocks clean: {len(clean)}/{len(faithful)}"
    )
    return (
        ExitCode.CONFORMANT if len(detected) == len(faults_total) and len(clean) == len(faithful) else ExitCode.FAILURES
    )
