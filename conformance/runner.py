"""One run: start the embedded mocks (or reach live targets), run the suite through pytest, and judge."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import os
import secrets
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from conformance import mock
from conformance.catalog import load_vendor, vendor_names
from conformance.errors import ExitCode, InfrastructureError, UsageError
from conformance.profiles import get_profile
from conformance.reports.results import RunResults, load_results
from conformance.servers import BackgroundServer
from conformance.targets import Target

EMBEDDED_TOKEN_ENV = "CONFORMANCE_EMBEDDED_TOKEN"
EMBEDDED_RESTRICTED_TOKEN_ENV = "CONFORMANCE_EMBEDDED_RESTRICTED_TOKEN"
SEEDED_IDS_PER_VENDOR = 12


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
    delete_delay: float = 0.0
    requirements: Sequence[str] = ()


@dataclass
class RunOutcome:
    """What a run concluded, and where its reports are."""

    results: RunResults
    report_dir: Path
    exit_code: ExitCode


def faults_by_vendor(faults: Sequence[str], vendors: Sequence[str]) -> dict[str, list[str]]:
    """Assign each fault name to the vendor whose mock knows it; ``UsageError`` for an unknown one."""
    assigned: dict[str, list[str]] = {v: [] for v in vendors}
    for fault in faults:
        owners = [v for v in vendors if fault in mock.faults_of(v)]
        if not owners:
            raise UsageError(
                f"unknown fault {fault!r} for vendors {', '.join(vendors)} (see `conformance mock --list-faults`)"
            )
        assigned[owners[0]].append(fault)
    return assigned


@contextlib.contextmanager
def embedded_targets(
    vendors: Sequence[str], run_id: str, *, faults: Sequence[str] = (), delete_delay: float = 0.0
) -> Iterator[list[Target]]:
    """Start one reference mock per vendor on a free loopback port; yield targets pointing at them."""
    token = os.environ.get(EMBEDDED_TOKEN_ENV) or "cf-embedded-" + secrets.token_hex(12)
    os.environ[EMBEDDED_TOKEN_ENV] = token
    restricted = os.environ.get(EMBEDDED_RESTRICTED_TOKEN_ENV) or "cf-restricted-" + secrets.token_hex(12)
    os.environ[EMBEDDED_RESTRICTED_TOKEN_ENV] = restricted
    assigned = faults_by_vendor(faults, vendors)
    servers: list[BackgroundServer] = []
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
                faults=frozenset(assigned[name]),
                delete_delay=delete_delay,
                seed_ids=seeded,
            )
            server = BackgroundServer(mock.create_app(name, options)).start()
            servers.append(server)
            targets.append(
                Target(
                    name=f"{name}-mock",
                    vendor=name,
                    base_url=server.url + vendor.server_path,
                    token_env=EMBEDDED_TOKEN_ENV,
                    restricted_token_env=EMBEDDED_RESTRICTED_TOKEN_ENV,
                    owned=True,
                    disposable_ids=seeded,
                    gone_deadline=max(5.0, delete_delay * 3 + 2),
                )
            )
        yield targets
    finally:
        for server in servers:
            server.stop()


def preflight(target: Target) -> None:
    """Fail fast, with exit code 3, when a target cannot be reached at all."""
    try:
        httpx.request("HEAD", target.base_url, timeout=min(target.timeout, 5.0), verify=target.verify)
    except httpx.HTTPError as exc:
        raise InfrastructureError(
            f"target {target.name} unreachable at {target.base_url}: {type(exc).__name__}"
        ) from None


def _plugin_args() -> list[str]:
    from importlib.metadata import entry_points

    registered = any(ep.value == "conformance.plugin" for ep in entry_points(group="pytest11"))
    return [] if registered else ["-p", "conformance.plugin"]


def run_suite(targets: list[Target], request: RunRequest, run_id: str, seed: int, report_dir: Path) -> RunResults:
    """Run the suite's pytest session against ``targets``; returns the results it wrote."""
    import pytest

    import conformance.suite

    report_dir.mkdir(parents=True, exist_ok=True)
    config = {
        "run_id": run_id,
        "profile": request.profile,
        "seed": seed,
        "report_dir": str(report_dir),
        "targets": [t.as_dict() for t in targets],
        "requirements": list(request.requirements) or None,
    }
    suite_dir = Path(conformance.suite.__file__).parent
    with tempfile.TemporaryDirectory(prefix="conformance-") as scratch:
        config_path = Path(scratch) / "run.json"
        config_path.write_text(json.dumps(config), encoding="utf-8")
        ini = Path(scratch) / "pytest.ini"
        ini.write_text("[pytest]\njunit_family = xunit1\n", encoding="utf-8")
        args = [
            str(suite_dir),
            *_plugin_args(),
            "-c",
            str(ini),
            "--rootdir",
            scratch,
            "-p",
            "no:cacheprovider",
            "-q",
            "--tb=line",
            "--conformance-config",
            str(config_path),
            "--junitxml",
            str(report_dir / "junit.xml"),
            "--alluredir",
            str(report_dir / "allure-results"),
        ]
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


def judge(results: RunResults) -> ExitCode:
    """The run's exit code: 1 on a failed MUST or a leak, 3 on errors only, else 0."""
    if results.failed("MUST") or results.leaks:
        return ExitCode.FAILURES
    if results.counts().get("error", 0):
        return ExitCode.INFRASTRUCTURE
    return ExitCode.CONFORMANT


def new_run_id() -> str:
    """A short, sortable, unique run id (it goes into every name the run creates)."""
    return dt.datetime.now(dt.UTC).strftime("%m%d%H%M") + secrets.token_hex(2)


def execute(request: RunRequest) -> RunOutcome:
    """Run the suite as requested and write the reports."""
    get_profile(request.profile)
    run_id = request.run_id or new_run_id()
    seed = request.seed if request.seed is not None else secrets.randbits(32)
    report_dir = request.report_dir or request.report_root / run_id
    if request.targets:
        if request.faults:
            raise UsageError("--fault applies to the embedded mocks only, not to a live target")
        for target in request.targets:
            load_vendor(target.vendor)
            preflight(target)
        results = run_suite(request.targets, request, run_id, seed, report_dir)
    else:
        vendors = list(request.vendors) or list(vendor_names())
        for name in vendors:
            load_vendor(name)
        with embedded_targets(vendors, run_id, faults=request.faults, delete_delay=request.delete_delay) as targets:
            results = run_suite(targets, request, run_id, seed, report_dir)
    return RunOutcome(results=results, report_dir=report_dir, exit_code=judge(results))


def environment_token(targets: Sequence[Target], env: Mapping[str, str]) -> list[str]:
    """The names of targets whose token variable is unset (they will be judged unauthenticated)."""
    return [t.name for t in targets if not env.get(t.token_env)]
