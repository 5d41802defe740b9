"""The self-test: the suite must catch every fault of the reference mocks, and nothing on the faithful ones.

Each case (a vendor's faithful mock, one injected fault, quirk or mutant) is one run of the suite, judging what can
decide its verdict (``judged_rows``: clean cases every row, a fault its expected rows, a mutant every row until
the first failed MUST row of its operation). With ``jobs`` > 1 the cases run in that many worker processes (pytest
is not re-entrant across threads); the table keeps the case order.
"""

from __future__ import annotations

import gc
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
from conformance.errors import ConformanceError, ExitCode, InfrastructureError, UsageError
from conformance.run.runner import RunOutcome, RunRequest, execute
from conformance.run.unjudged import NOT_JUDGED

# (vendor, fault or "quirk:NAME" or "" for the faithful mock, expected requirement ids)
Case = tuple[str, str, tuple[str, ...]]
QUIRK = "quirk:"
MUTANT = "mutant:"
Outcomes = Generator["FaultOutcome", None, None]
LABEL_WIDTH = 34  # the table's fault column, widened to the longest fault name
MAX_SLEEPERS = 9  # extra workers for the waiting cases (each sleeps most of its run: ~0.2 GB, little CPU)
CASE_REPORTS = ("results", "summary")  # per case: what the verdict is read from, and what a person reads (no junit)


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
    foreign_deleted: list[str] = field(default_factory=list)
    must_failed: list[str] = field(default_factory=list)  # the MUST rows that failed, as "operation:ID"

    @property
    def must_stay_clean(self) -> bool:
        """The faithful mock and every quirk (a behaviour the docs allow): nothing may fail, error or be touched."""
        return not self.fault or self.fault.startswith(QUIRK)

    @property
    def mutant(self) -> bool:
        """A spec-derived mutant: killed when a MUST row of its operation failed (``expected`` = (operation,))."""
        return self.fault.startswith(MUTANT)

    @property
    def ok(self) -> bool:
        """Clean cases: nothing failed, errored or deleted of others. Fault: every expected requirement failed.
        Mutant: a MUST row of the mutant's operation failed (it was killed)."""
        if self.must_stay_clean:
            return not self.failed and not self.errors and not self.foreign_deleted
        if self.mutant:
            return any(row.split(":", 1)[0] in self.expected for row in self.must_failed)
        return all(r in self.failed for r in self.expected)


@dataclass(frozen=True)
class CaseSettings:
    """What every case of one self-test shares."""

    profile: str
    seed: int
    report_dir: Path
    requirements: tuple[str, ...] = ()


def mutant_cases(vendors: Sequence[str], names: Sequence[str], kinds: Sequence[str] = ()) -> list[Case]:
    """(vendor, "mutant:NAME", (operation,)) for every non-equivalent spec-derived mutant (or the ones named)."""
    from conformance import mock

    cases: list[Case] = []
    for vendor in vendors or vendor_names():
        if vendor not in mock.vendors():
            continue
        for name, (operation, kind, equivalent, _why) in mock.mutants_of(vendor).items():
            if (names and name not in names) or (not names and equivalent) or (kinds and kind not in kinds):
                continue
            cases.append((vendor, MUTANT + name, (operation,)))
    missing = [n for n in names if not any(f == MUTANT + n for _, f, _ in cases)]
    if missing:
        raise UsageError(f"unknown mutant(s): {', '.join(missing)} (see `conformance mock --list-mutants`)")
    return cases


def selftest_cases(vendors: Sequence[str], faults: Sequence[str], quirks: Sequence[str] | None = ()) -> list[Case]:
    """(vendor, fault, expected requirement ids) for the faithful mocks, every selected fault and every quirk.

    ``quirks``: the quirk cases to run (empty: every quirk of each vendor, unless faults were selected; None: none).
    Selecting quirks but no fault runs no fault case, and selecting faults but no quirk runs no quirk case.
    """
    from conformance import mock

    cases: list[Case] = []
    for name in vendors or vendor_names():
        vendor = load_vendor(name)
        cases.append((name, "", ()))
        if faults or not quirks:  # --quirk alone runs only those quirk cases (and the faithful mock)
            cases += [(name, f, exp) for f, exp in vendor.faults.items() if not faults or f in faults]
        if quirks is not None and (quirks or not faults):
            known = mock.quirks_of(name) if name in mock.vendors() else {}
            cases += [(name, QUIRK + q, ()) for q in known if not quirks or q in quirks]
    if faults:
        known_faults = {f for _, f, _ in cases}
        unknown = [f for f in faults if f not in known_faults]
        if unknown:
            raise UsageError(f"unknown fault(s): {', '.join(unknown)}")
    if quirks:
        chosen = {f.removeprefix(QUIRK) for _, f, _ in cases if f.startswith(QUIRK)}
        missing = [q for q in quirks if q not in chosen]
        if missing:
            raise UsageError(f"unknown quirk(s): {', '.join(missing)} (see `conformance mock --list-quirks`)")
    return cases


def judged_rows(case: Case, chosen: Sequence[str] = ()) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The requirement ids a case judges (empty: every row), and the rows that end its session when one fails.

    - the faithful mock and a quirk: every row (``chosen``: those); they must stay clean on all of them.
    - a fault: only the rows it must be caught by (``expected``): detected means every one of them failed, and no
      other row can change that. A row whose check runs last (``is_last``: it judges every exchange the run
      recorded, whichever row sent it) needs the whole run: a fault that names one judges every row.
    - a mutant: every row, in the run's order, until the first MUST row of its operation that fails (the only
      rows that can kill it): killed is decided then, and what ran before it is exactly what a full run judges
      first (rows share probes and the mock's store: a delete that deletes another resource is only caught when
      earlier rows left one). A survivor is judged on every row.

    ``chosen`` (``--requirement``) narrows further; a fault it would leave with no row judges ``chosen`` as given.
    """
    import conformance.checks  # noqa: F401 - registers the checks is_last asks about
    from conformance.checks.registry import is_last

    vendor, fault, expected = case
    if not fault or fault.startswith(QUIRK):
        return tuple(chosen), ()
    rows = load_vendor(vendor).requirements
    if fault.startswith(MUTANT):  # the run's own order: its state when a row is judged is the full run's
        killers = [
            r.id for r in rows if r.level == "MUST" and r.operation in expected and (not chosen or r.id in chosen)
        ]
        return tuple(chosen), tuple(killers)
    if any(is_last(r.check) for r in rows if r.id in expected):
        return tuple(chosen), ()
    narrowed = [r for r in expected if not chosen or r in chosen]
    return tuple(narrowed or chosen), ()  # none left: judge what --requirement asked for (the fault shows MISSED)


def run_case(case: Case, settings: CaseSettings) -> FaultOutcome:
    """Run the suite once against the vendor's embedded mock carrying the case's fault (none: the faithful one)."""
    vendor, fault, expected = case
    started = time.perf_counter()
    quirk = fault.removeprefix(QUIRK) if fault.startswith(QUIRK) else ""
    mutant = fault.removeprefix(MUTANT) if fault.startswith(MUTANT) else ""
    try:
        outcome = _execute_case(vendor, fault, expected, quirk, mutant, settings)
    except ConformanceError as exc:  # a set-up error the case itself caused (a mutant deleted a disposable id, ...)
        if not mutant:
            raise
        seconds = time.perf_counter() - started
        return FaultOutcome(vendor, fault, expected, [], seconds, [f"set-up error: {exc}"])
    failed = sorted(r.requirement for r in outcome.results.results if r.status == "failed")
    # a killed mutant's session stopped at its first failed MUST row: the rows after it were not judged, not errors
    stopped = bool(mutant and failed)
    errors = sorted(
        r.requirement
        for r in outcome.results.results
        if r.status == "error" and not (stopped and r.message.startswith(NOT_JUDGED))
    )
    seconds = time.perf_counter() - started
    interrupted = outcome.exit_code == ExitCode.INTERRUPTED
    foreign = sorted(i for ids in outcome.foreign_deletions.values() for i in ids)
    must = sorted(
        f"{r.operation}:{r.requirement}" for r in outcome.results.results if r.status == "failed" and r.level == "MUST"
    )
    return FaultOutcome(vendor, fault, expected, failed, seconds, errors, interrupted, foreign, must)


def _execute_case(
    vendor: str, fault: str, expected: tuple[str, ...], quirk: str, mutant: str, settings: CaseSettings
) -> RunOutcome:
    """One run of the suite against the vendor's embedded mock with the case's fault, quirk or mutant."""
    requirements, stop_on = judged_rows((vendor, fault, expected), settings.requirements)
    return execute(
        RunRequest(
            vendors=[vendor],
            profile=settings.profile,
            seed=settings.seed,
            faults=[fault] if fault and not quirk and not mutant else [],
            quirks=[quirk] if quirk else [],
            mutant=mutant or None,
            report_dir=settings.report_dir / f"{vendor}-{(fault or 'faithful').replace(':', '-')}",
            requirements=requirements,
            stop_on=stop_on,
            # a mutant stops at its first failed MUST row in the run's order: one row at a time (no pool judges
            # the rest meanwhile); faults, quirks and the faithful mock judge with the default --workers
            workers=1 if stop_on else None,
            reports=CASE_REPORTS,
        )
    )


def default_jobs(cases: int) -> int:
    """One worker per usable CPU, never more than there are cases."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, min(cpus, cases))


_STOPPING = threading.Event()  # set in a worker by SIGINT: the cases it has yet to start are not run


_SETTLED = threading.Event()  # this process has frozen what its first case imported and cached


def _settle() -> None:
    """After a process's first case: what it imported and cached (schemathesis, Hypothesis, catalogs, compiled
    schemas, ~100,000 objects that live as long as the process) leaves the garbage collector's sight (``gc.freeze``).

    pytest collects garbage at the end of every session (``gc_collect_harder``): scanning those objects each time
    cost more than a whole narrowed fault case judges. Garbage made by later cases is still collected."""
    if not _SETTLED.is_set():
        _SETTLED.set()
        gc.collect()
        gc.freeze()


def _queued_case(case: Case, settings: CaseSettings) -> FaultOutcome:
    """``run_case`` in a worker, unless an interrupt already stopped the self-test."""
    if _STOPPING.is_set():
        return FaultOutcome(case[0], case[1], case[2], interrupted=True)
    outcome = run_case(case, settings)
    _settle()
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
        outcome = run_case(case, settings)
        _settle()
        yield outcome


def waits(case: Case) -> bool:
    """Whether a case's run spends most of its time waiting on the mock (a quirk with Retry-After or latency)."""
    from conformance import mock

    return case[1].startswith(QUIRK) and case[1].removeprefix(QUIRK) in mock.waiting_quirks()


def _parallel(cases: Sequence[Case], settings: CaseSettings, jobs: int) -> Outcomes:
    """The outcomes in case order, computed ``jobs`` at a time in spawned worker processes.

    The waiting cases (``waits``) are submitted first: they start at once and sleep beside the others instead of
    holding the last workers for minutes at the end."""
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context, initializer=_worker_init) as pool:
        order = sorted(range(len(cases)), key=lambda i: not waits(cases[i]))
        submitted = {i: pool.submit(_queued_case, cases[i], settings) for i in order}
        futures: list[Future[FaultOutcome]] = [submitted[i] for i in range(len(cases))]
        try:
            for future in futures:
                yield future.result()
        except BrokenProcessPool as exc:
            raise InfrastructureError(f"a self-test worker process died: {exc}") from None
        finally:  # an error, an interrupt, or the caller stopped early: start no further case
            pool.shutdown(wait=True, cancel_futures=True)


def _row(result: FaultOutcome, width: int) -> str:
    clean = result.must_stay_clean
    verdict = (
        "interrupted"
        if result.interrupted
        else ("killed" if result.ok else "SURVIVED")
        if result.mutant
        else "ok"
        if result.ok
        else "FALSE POSITIVE"
        if clean
        else "MISSED"
    )
    blamed = ", ".join(result.failed) or "-"
    if result.errors:
        blamed += f"  (not judged: {', '.join(result.errors)})"
    if result.foreign_deleted:
        blamed += f"  (deleted what it did not create: {', '.join(result.foreign_deleted[:5])})"
    return f"{result.vendor:<8} {result.fault or 'faithful':<{width}} {verdict:<14} {result.seconds:5.1f}s  {blamed}"


def _print_mutation_score(outcomes: Sequence[FaultOutcome]) -> None:
    """Killed / total per vendor, then every survivor with what failed instead (SHOULD rows, or nothing)."""
    for vendor in dict.fromkeys(o.vendor for o in outcomes):
        mine = [o for o in outcomes if o.vendor == vendor]
        killed = sum(o.ok for o in mine)
        print(f"mutation score {vendor}: {killed}/{len(mine)} killed ({100 * killed / len(mine):.0f}%)")
    for o in outcomes:
        if not o.ok and not o.interrupted:
            instead = ", ".join(o.failed) or "; ".join(o.errors)[:200] or "nothing failed"
            name = o.fault.removeprefix(MUTANT)
            print(f"  survivor {o.vendor} {name}: no MUST row of {o.expected[0]} failed ({instead})")


def run_selftest(
    *,
    vendors: Sequence[str],
    faults: Sequence[str],
    profile: str,
    seed: int,
    report_dir: Path,
    requirements: Sequence[str] = (),
    jobs: int | None = None,
    quirks: Sequence[str] | None = (),
    mutants: Sequence[str] | None = None,
    quiet: bool = False,
) -> ExitCode:
    """Run every case (``jobs`` at a time), print the table fault -> detected? -> failed requirements, and judge.

    Without ``quiet``, a first line says how many cases run (and the seed) and each row is printed as its case ends;
    with it, only the rows that are not ok and the final line."""
    if jobs is not None and jobs < 1:
        raise UsageError(f"--jobs: expected a number of processes >= 1, got {jobs}")
    from conformance.catalog.profiles import get_profile

    get_profile(profile)  # an unknown profile is one line before anything runs
    cases = (
        selftest_cases(vendors, faults, quirks) if mutants is None else [(v, "", ()) for v in vendors or vendor_names()]
    )
    if mutants is not None:  # --mutants (every non-equivalent mutant) or --mutant NAME...
        cases += mutant_cases(vendors, mutants)
    settings = CaseSettings(profile, seed, report_dir, tuple(requirements))
    # by default one worker per CPU, plus one per waiting case (it sleeps; up to MAX_SLEEPERS of them)
    sleepers = min(MAX_SLEEPERS, sum(waits(c) for c in cases))
    workers = min(jobs, len(cases)) if jobs is not None else min(len(cases), default_jobs(len(cases)) + sleepers)
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
    mutated = [o for o in outcomes if o.mutant]
    if mutated:
        _print_mutation_score(mutated)
    faults_total = [o for o in outcomes if not o.must_stay_clean and not o.mutant]
    detected = [o for o in faults_total if o.ok]
    faithful = [o for o in outcomes if not o.fault]
    quirked = [o for o in outcomes if o.fault.startswith(QUIRK)]
    clean = [o for o in faithful + quirked if o.ok]
    print(
        f"detected {len(detected)}/{len(faults_total)} faults with the right requirement; "
        f"faithful mocks clean: {len([o for o in faithful if o.ok])}/{len(faithful)}; "
        f"quirks clean: {len([o for o in quirked if o.ok])}/{len(quirked)}"
    )
    return (
        ExitCode.CONFORMANT
        if len(detected) == len(faults_total) and len(clean) == len(faithful) + len(quirked)
        else ExitCode.FAILURES
    )
