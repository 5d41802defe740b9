"""One run: start the embedded mocks (or reach live targets), run the suite through pytest, and judge."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import os
import secrets
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from conformance import gating, interrupts
from conformance.catalog.loader import load_vendor, vendor_folders, vendor_names
from conformance.catalog.profiles import get_profile
from conformance.checks.registry import validate_rows
from conformance.errors import ExitCode, InfrastructureError, UsageError
from conformance.reports.writers import RUN_FORMATS, check_formats, write_run_reports
from conformance.results import RunResults, load_results
from conformance.run import heap, live, parallel
from conformance.target.model import Target, check_workers, with_deadline, with_slots

EMBEDDED_TOKEN_ENV = "CONFORMANCE_EMBEDDED_TOKEN"
EMBEDDED_RESTRICTED_TOKEN_ENV = "CONFORMANCE_EMBEDDED_RESTRICTED_TOKEN"
EMBEDDED_OTHER_TOKEN_ENV = "CONFORMANCE_EMBEDDED_OTHER_TOKEN"  # a second workspace/account of every mock
SEEDED_IDS_PER_VENDOR = 400


@dataclass
class RunRequest:
    """What to run: live targets, or (when ``targets`` is empty) the embedded mocks of ``vendors``."""

    targets: list[Target] = field(default_factory=list)
    vendors: Sequence[str] = ()
    profile: str = "quick"
    seed: int | None = None
    run_id: str | None = None
    report_root: Path = Path("reports")
    report_dir: Path | None = None
    faults: Sequence[str] = ()
    quirks: Sequence[str] = ()
    mutant: str | None = None
    delete_delay: float = 0.0
    requirements: Sequence[str] = ()
    baseline: Sequence[Path] = ()
    expectations: Sequence[Path] = ()
    fail_on: str = "must"
    allow_incomplete: bool = False
    budget: float | None = None
    jobs: int = 0
    workers: int | None = None  # rows judged at once per target (None: each target's own, default 8)
    reports: Sequence[str] = RUN_FORMATS
    stop_on: Sequence[str] = ()  # rows judged first; the session stops at the first that fails (run/stop_on.py)


@dataclass
class RunOutcome:
    """What a run concluded, and where its reports are."""

    results: RunResults
    report_dir: Path
    exit_code: ExitCode
    gate: gating.Gate | None = None
    foreign_deletions: dict[str, list[str]] = field(default_factory=dict)  # embedded: what the run must not delete


def faults_by_vendor(faults: Sequence[str], vendors: Sequence[str]) -> dict[str, list[str]]:
    """Assign each fault name to the vendor whose mock knows it; ``UsageError`` for an unknown one."""
    from conformance import mock  # the mocks and uvicorn load for embedded runs only

    assigned: dict[str, list[str]] = {v: [] for v in vendors}
    for fault in faults:
        owners = [v for v in vendors if fault in mock.faults_of(v)]
        if not owners:
            raise UsageError(
                f"unknown fault {fault!r} for vendors {', '.join(vendors)} (see `conformance mock --list-faults`)"
            )
        assigned[owners[0]].append(fault)
    return assigned


def quirks_by_vendor(quirks: Sequence[str], vendors: Sequence[str]) -> dict[str, list[str]]:
    """Give each quirk to every vendor whose mock knows it; ``UsageError`` for one no vendor knows."""
    from conformance import mock

    assigned: dict[str, list[str]] = {v: [q for q in quirks if q in mock.quirks_of(v)] for v in vendors}
    unknown = [q for q in quirks if not any(q in names for names in assigned.values())]
    if unknown:
        raise UsageError(
            f"unknown quirk(s) {', '.join(unknown)} for vendors {', '.join(vendors)} "
            "(see `conformance mock --list-quirks`)"
        )
    return assigned


def ensure_mock(name: str) -> None:
    """Serve a vendor folder's own ``mock.py`` when the package has no mock for that vendor."""
    from conformance import mock

    if name in mock.vendors():
        return
    folder = vendor_folders().get(name)
    if folder is None or not (folder / "mock.py").is_file():
        raise UsageError(f"vendor {name!r} has no reference mock (no mock.py in its folder): give --base-url")
    try:
        served = mock.load_mock_module(folder)
    except mock.UnknownFault as exc:
        raise UsageError(str(exc)) from None
    if served != name:
        raise UsageError(f"{folder / 'mock.py'} serves vendor {served!r}, not {name!r} (its VENDOR)")


@contextlib.contextmanager
def embedded_targets(
    vendors: Sequence[str],
    run_id: str,
    *,
    faults: Sequence[str] = (),
    quirks: Sequence[str] = (),
    mutant: str | None = None,
    delete_delay: float = 0.0,
    foreign_deletions: dict[str, list[str]] | None = None,
) -> Iterator[list[Target]]:
    """Start one reference mock per vendor on a free loopback port; yield targets pointing at them.

    When they stop, ``foreign_deletions`` receives per target the ids the run deleted that it neither created nor
    was given (the mock records the origin of every resource it deleted).
    """
    from conformance import mock
    from conformance.run.servers import BackgroundServer

    token = os.environ.get(EMBEDDED_TOKEN_ENV) or "cf-embedded-" + secrets.token_hex(12)
    os.environ[EMBEDDED_TOKEN_ENV] = token
    restricted = os.environ.get(EMBEDDED_RESTRICTED_TOKEN_ENV) or "cf-restricted-" + secrets.token_hex(12)
    os.environ[EMBEDDED_RESTRICTED_TOKEN_ENV] = restricted
    other = os.environ.get(EMBEDDED_OTHER_TOKEN_ENV) or "cf-other-" + secrets.token_hex(12)
    os.environ[EMBEDDED_OTHER_TOKEN_ENV] = other
    for name in vendors:
        ensure_mock(name)
    assigned = faults_by_vendor(faults, vendors)
    quirked = quirks_by_vendor(quirks, vendors)
    mutated = {v: mutant for v in vendors if mutant and mutant in mock.mutants_of(v)}
    if mutant and not mutated:
        raise UsageError(
            f"unknown mutant {mutant!r} for vendors {', '.join(vendors)} (see `conformance mock --list-mutants`)"
        )
    servers: list[BackgroundServer] = []
    apps: list[tuple[str, mock.MockApp]] = []
    targets: list[Target] = []
    try:
        for name in vendors:
            vendor = load_vendor(name)
            seeded = (
                ()
                if "create" in vendor.operations
                else tuple(f"cf-{run_id}-seed-{i}" for i in range(SEEDED_IDS_PER_VENDOR))
            )
            options = mock.MockOptions(
                token=token,
                restricted_token=restricted,
                other_token=other,
                faults=frozenset(assigned[name]),
                quirks=frozenset(quirked[name]),
                delete_delay=delete_delay,
                seed_ids=seeded,
                mutant=mutated.get(name),
            )
            app = mock.create_app(name, options)
            server = BackgroundServer(app).start()
            servers.append(server)
            apps.append((f"{name}-mock", app))
            targets.append(
                Target(
                    name=f"{name}-mock",
                    vendor=name,
                    base_url=server.url + vendor.server_path,
                    token_env=EMBEDDED_TOKEN_ENV,
                    restricted_token_env=EMBEDDED_RESTRICTED_TOKEN_ENV,
                    other_token_env=EMBEDDED_OTHER_TOKEN_ENV,
                    owned=True,
                    disposable_ids=seeded,
                    # without a delay the mock deletes before it answers; a quirk may set one (options.delete_delay)
                    gone_deadline=1.0 + options.delete_delay * 3,
                    max_live_resources=100_000,  # the embedded mock is ours: no cap, so faults surface as failures
                )
            )
        yield targets
    finally:
        for server in servers:
            server.stop()
        if foreign_deletions is not None:
            for target_name, app in apps:
                deleted = app.state.store.deletions()
                foreign_deletions[target_name] = [str(d["id"]) for d in deleted if d.get("origin") == "foreign"]


def check_requirements(requirements: Sequence[str], vendors: Sequence[str]) -> None:
    """``UsageError`` (exit 2) for a ``--requirement`` id no selected vendor's catalog has: it would judge nothing."""
    known = {r.id for name in dict.fromkeys(vendors) for r in load_vendor(name).requirements}
    unknown = [r for r in requirements if r not in known]
    if unknown:
        raise UsageError(
            f"unknown requirement {', '.join(map(repr, unknown))} for vendor(s) {', '.join(dict.fromkeys(vendors))} "
            "(ids are in specs/<vendor>/requirements.yaml; `conformance run --dry-run` lists them)"
        )


def preflight(target: Target) -> None:
    """Fail fast, with exit code 3, when a target cannot be reached at all."""
    reason = live.preflight(target)
    if reason is not None:
        raise InfrastructureError(f"target {target.name}: {reason}")


# The suite's pytest session loads its own plugin and no other: the environment's pytest11 entry points (allure,
# hypothesis, schemathesis, anyio, ...) cost an entry-point scan and their imports, and none of them is used (the
# suite drives Hypothesis and schemathesis itself; junit and allure files are written from the results). Of pytest's
# own plugins, those that only police a test suite's hygiene are off too: unraisableexception and threadexception
# run full garbage collections at every session's end (about 100 ms), doctest, pastebin, junitxml, stepwise and
# cacheprovider are never used.
SESSION_PLUGIN_ARGS = (
    "--disable-plugin-autoload",
    *("-p", "conformance.run.plugin"),
    *("-p", "no:cacheprovider", "-p", "no:unraisableexception", "-p", "no:threadexception"),
    *("-p", "no:doctest", "-p", "no:pastebin", "-p", "no:junitxml", "-p", "no:stepwise"),
)


def _prepare_checks(targets: Sequence[Target], requirements: Sequence[str]) -> None:
    """Load what the selected rows' checks load lazily (schemathesis and the spec's schema, for fuzz rows) now."""
    from conformance.checks import fuzz

    selected = set(requirements)
    for name in dict.fromkeys(t.vendor for t in targets):
        vendor = load_vendor(name)
        if any(r.check == "fuzz" and (not selected or r.id in selected) for r in vendor.requirements):
            fuzz.prepare(vendor)


def run_suite(targets: list[Target], request: RunRequest, run_id: str, seed: int, report_dir: Path) -> RunResults:
    """Run the suite's pytest session against ``targets``; returns the results it wrote."""
    import pytest

    import conformance.run.suite

    report_dir.mkdir(parents=True, exist_ok=True)
    config = {
        "run_id": run_id,
        "profile": request.profile,
        "seed": seed,
        "report_dir": str(report_dir),
        "targets": [t.as_dict() for t in targets],
        "requirements": list(request.requirements) or None,
        "session_reports": ["results"],  # the other reports are written once, from the results, by finish_run
    }
    suite_dir = Path(conformance.run.suite.__file__).parent
    with tempfile.TemporaryDirectory(prefix="conformance-") as scratch:
        config_path = Path(scratch) / "run.json"
        config_path.write_text(json.dumps(config), encoding="utf-8")
        ini = Path(scratch) / "pytest.ini"
        ini.write_text("[pytest]\n", encoding="utf-8")
        args = [
            str(suite_dir),
            *SESSION_PLUGIN_ARGS,
            "-c",
            str(ini),
            "--rootdir",
            scratch,
            "--assert=plain",  # no assert rewriting of ~340 plugin modules per run: the suite raises its own verdicts
            "-q",
            "--tb=short",
            "--conformance-config",
            str(config_path),
            *(("-p", "conformance.run.stop_on") if request.stop_on else ()),
            *(f"--conformance-stop-on={row}" for row in request.stop_on),
        ]  # junit.xml and allure-results/ are written from the results afterwards (finish_run)
        _prepare_checks(targets, request.requirements)
        heap.settle()  # start-up is over: its heap is frozen, the collector runs again (inside the CLI's heap.paused())
        log = io.StringIO()
        with contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
            code = pytest.main(args)
        (report_dir / "pytest.log").write_text(log.getvalue(), encoding="utf-8")
    results_path = report_dir / "results.json"
    if not results_path.is_file():
        raise InfrastructureError(
            f"the suite wrote no results (pytest exit {int(code)}); see {report_dir / 'pytest.log'}"
        )
    return load_results(results_path)


def judge(results: RunResults, inputs: gating.GateInputs | None = None) -> ExitCode:
    """The run's exit code under the gate (default ``--fail-on must``): 1 on a blocking failure, 3 on errors only."""
    return gating.evaluate([results], inputs).exit_code


def note_faults(
    results: RunResults, assigned: Mapping[str, Sequence[str]], report_dir: Path, delete_delay: float = 0.0
) -> None:
    """Record in results.json that the targets are embedded mocks, and their faults (reproductions restart them)."""
    for target in results.targets:
        target["faults"] = list(assigned.get(str(target.get("vendor")), []))
        target["embedded"] = True
        target["delete_delay"] = delete_delay
    results.write(report_dir / "results.json")


def new_run_id() -> str:
    """A short, sortable, unique run id (it goes into every name the run creates)."""
    return dt.datetime.now(dt.UTC).strftime("%m%d%H%M") + secrets.token_hex(2)


def execute(request: RunRequest) -> RunOutcome:
    """Run the suite as requested and write the reports."""
    get_profile(request.profile)
    check_formats(request.reports)
    run_id = request.run_id or new_run_id()
    seed = request.seed if request.seed is not None else secrets.randbits(32)
    report_dir = request.report_dir or request.report_root / run_id
    inputs = gating.load_inputs(
        fail_on=request.fail_on,
        baseline=request.baseline,
        expectations=request.expectations,
        allow_incomplete=request.allow_incomplete,
    )
    if request.targets:
        if request.faults or request.quirks or request.mutant:
            raise UsageError("--fault, --quirk and --mutant apply to the embedded mocks only, not to a live target")
        for target in request.targets:
            validate_rows(load_vendor(target.vendor))
        check_requirements(request.requirements, [t.vendor for t in request.targets])
        live.check_tokens(request.targets)
        with interrupts.signal_guard():
            results = run_targets(request.targets, request, run_id, seed, report_dir)
    else:
        vendors = list(request.vendors) or list(vendor_names())
        if not vendors:
            raise UsageError("no vendor specs found (looked in the package's specs; set CONFORMANCE_SPECS_DIR)")
        for name in vendors:
            validate_rows(load_vendor(name))
        check_requirements(request.requirements, vendors)
        foreign: dict[str, list[str]] = {}
        with (
            interrupts.signal_guard(),
            embedded_targets(
                vendors,
                run_id,
                faults=request.faults,
                quirks=request.quirks,
                mutant=request.mutant,
                delete_delay=request.delete_delay,
                foreign_deletions=foreign,
            ) as targets,
        ):
            results = run_targets(targets, request, run_id, seed, report_dir)
        note_faults(results, faults_by_vendor(request.faults, vendors), report_dir, request.delete_delay)
    gate = finish_run(results, report_dir, inputs, request.reports)
    code = ExitCode.INTERRUPTED if interrupts.interrupted() else gate.exit_code
    setup = [t for t in results.targets if t.get("setup_problem")]
    if setup and code != ExitCode.INTERRUPTED:
        first = setup[0]
        error = UsageError if first.get("setup_exit") == int(ExitCode.USAGE) else InfrastructureError
        raise error(f"target {first.get('name')}: {first['setup_problem']} (reports: {report_dir})")
    not_run = [str(t["not_run"]) for t in results.targets if t.get("not_run")]
    if not_run and len(not_run) == len(results.targets) and code != ExitCode.INTERRUPTED:
        raise InfrastructureError(f"{'; '.join(not_run)} (reports: {report_dir})")
    outcome = RunOutcome(results=results, report_dir=report_dir, exit_code=code, gate=gate)
    if not request.targets:
        outcome.foreign_deletions = foreign
    return outcome


def run_targets(targets: Sequence[Target], request: RunRequest, run_id: str, seed: int, report_dir: Path) -> RunResults:
    """Preflight, sweep, run the sessions (in parallel when several targets), and write complete results.json.

    Always writes results.json: a target that cannot be reached, a stop request, an exhausted time budget or a
    broken session leave ``error`` results naming the reason for every requirement not judged.
    """
    interrupts.reset()
    started = time.time()
    budgeted = [replace(t, budget=request.budget) if request.budget else t for t in targets]
    if request.workers is not None:
        budgeted = [replace(t, workers=check_workers(request.workers)) for t in budgeted]
    timed = [with_deadline(t, started) for t in with_slots(budgeted)]
    reasons: dict[str, str] = {}
    notes: list[str] = []
    for target in timed:
        if not target.owned:
            problem = live.preflight(target)
            if problem is not None:
                reasons[target.name] = f"target {target.name} {problem}"
                notes.append(reasons[target.name])
            else:
                live.check_base_path(target, run_id)
    swept: dict[str, list[dict[str, str]]] = {}
    sweep_root = request.report_root if request.report_dir is None else report_dir.parent
    for target in timed:
        if target.name not in reasons:
            swept[target.name] = live.sweep(target, sweep_root, run_id, request.profile)
    runnable = [t for t in timed if t.name not in reasons]
    results: RunResults | None = None
    report_dir.mkdir(parents=True, exist_ok=True)
    try:
        parallel_wanted = request.jobs > 1 or (request.jobs == 0 and not all(t.owned for t in runnable))
        if len(runnable) > 1 and parallel_wanted and not interrupts.STOP.is_set():
            payload = {"run_id": run_id, "seed": seed, "profile": request.profile, "requirements": request.requirements}
            deadlines = [t.deadline for t in runnable if t.deadline is not None]
            jobs = request.jobs or len(runnable)
            heap.settle()
            folders = parallel.run_sessions(
                runnable, payload, report_dir, jobs=jobs, deadline=max(deadlines) if deadlines else None
            )
            results = parallel.merge_folders(folders, report_dir, run_id, request.profile, seed)
        elif runnable and not interrupts.STOP.is_set():
            results = run_suite(runnable, request, run_id, seed, report_dir)
    except InfrastructureError as exc:
        notes.append(str(exc))
        for target in runnable:
            reasons.setdefault(target.name, str(exc))
    if results is None:
        results = live.empty_results(run_id, request.profile, seed, timed)
    stop = interrupts.stop_reason()
    for target in timed:
        if stop:
            reasons.setdefault(target.name, stop)
    for entry in results.targets:
        entry["swept"] = swept.get(str(entry.get("name")), [])
        if str(entry.get("name")) in reasons and not stop:
            entry["not_run"] = reasons[str(entry.get("name"))]
    notes += live.budget_notes(results)
    if stop:
        notes.append(f"run {stop}: cleanup ran, the checks left were not judged")
    for target_name, outcomes in swept.items():
        kept = [o for o in outcomes if o["outcome"] != "deleted"]
        if outcomes:
            notes.append(f"swept {len(outcomes) - len(kept)} leftover(s) of earlier runs on {target_name}")
        results.leaks += [
            {"target": target_name, "id": o["id"], "reason": f"leftover of run {o['run']}: {o['outcome']}"}
            for o in kept
        ]
    live.complete(results, timed, request.requirements, reasons)
    results.notes += [n for n in notes if n not in results.notes]
    results.write(report_dir / "results.json")
    return results


def environment_token(targets: Sequence[Target], env: Mapping[str, str]) -> list[str]:
    """The names of targets whose token variable is unset (they will be judged unauthenticated)."""
    return [t.name for t in targets if not env.get(t.token_env)]


def finish_run(
    results: RunResults,
    report_dir: Path,
    inputs: gating.GateInputs | None = None,
    reports: Sequence[str] = RUN_FORMATS,
) -> gating.Gate:
    """Judge one run and write its reports from the results (summary.md leads with regressions and the gate)."""
    gate = gating.evaluate([results], inputs)
    write_run_reports(results, report_dir, gate=gate, formats=["results", *reports])
    return gate
