"""The pytest plugin (``pytest11`` entry point): options, the per-target contexts, and result capture.

``conformance run`` drives it with ``--conformance-config``; a user's own repository can drive it with
``pytest --pyargs conformance.run.suite --conformance-vendor V --conformance-base-url URL``.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

# Only pytest and the standard library at module level: this module is a ``pytest11`` entry point, so every pytest
# session of the environment imports it. The suite's own modules (catalog, checks, schemathesis, httpx, ...) load
# in the hooks, and only when conformance options are in use (tests/run/test_eco_plugin_import.py).
if TYPE_CHECKING:
    from conformance.catalog.model import Requirement
    from conformance.run.judging import RowVerdict
    from conformance.target.context import TargetContext
    from conformance.target.model import Target
    from conformance.verdicts import Evidence


def pytest_addoption(parser: pytest.Parser) -> None:
    """Register the ``--conformance-*`` options."""
    group = parser.getgroup("conformance", "API conformance suite")
    group.addoption("--conformance-config", default=None, help="run configuration JSON written by `conformance run`")
    group.addoption("--conformance-vendor", default=None, help="vendor of a single target")
    group.addoption("--conformance-base-url", default=None, help="base URL of that target (the spec's server URL)")
    group.addoption("--conformance-token-env", default=None, help="environment variable holding its token")
    group.addoption(
        "--conformance-other-token-env",
        default=None,
        help="environment variable holding the token of a second identity (another workspace or account)",
    )
    group.addoption("--conformance-disposable-id", action="append", default=[], help="an id the run may delete")
    group.addoption("--conformance-profile", default="quick", help="quick or nightly")
    group.addoption("--conformance-seed", type=int, default=None, help="seed for reproducible generation")
    group.addoption("--conformance-report-dir", default=None, help="where results.json and summary.md go")
    group.addoption(
        "--conformance-allow-destructive",
        action="store_true",
        help="allow creates and deletes of existing resources on the target (off by default)",
    )
    group.addoption(
        "--conformance-workers",
        default=None,
        help="requirement rows judged at once against the target (default 8; 1: one after another)",
    )
    group.addoption(
        "--conformance-allow-incomplete",
        action="store_true",
        help="a partial run: MUST rows skipped by the configuration (INCOMPLETE) do not fail the session",
    )


@dataclass
class RunConfig:
    """What one pytest session of the suite judges."""

    run_id: str
    profile: str
    seed: int
    targets: list[Target]
    report_dir: Path | None
    requirements: list[str] | None = None
    session_reports: tuple[str, ...] = ("results", "summary")  # `conformance run` writes the rest from the results


_SINGLE_TARGET_OPTIONS = (
    "--conformance-base-url",
    "--conformance-token-env",
    "--conformance-disposable-id",
    "--conformance-allow-destructive",
)


def _config_from_options(config: pytest.Config) -> RunConfig | None:
    """The run the options describe (None when they name none); ``UsageError`` for any bad option."""
    path = config.getoption("--conformance-config")
    vendor_given = config.getoption("--conformance-vendor")
    if not path and not vendor_given and not any(config.getoption(name) for name in _SINGLE_TARGET_OPTIONS):
        return None  # no conformance option: nothing of the suite is imported
    from conformance.catalog.loader import load_vendor, vendor_names
    from conformance.catalog.profiles import get_profile
    from conformance.errors import UsageError, output_dir
    from conformance.target.config import ENV_NAME
    from conformance.target.model import DEFAULT_WORKERS, Target, check_base_url

    if path:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
            return RunConfig(
                run_id=data["run_id"],
                profile=data["profile"],
                seed=int(data["seed"]),
                targets=[Target.from_dict(t) for t in data["targets"]],
                report_dir=Path(data["report_dir"]) if data.get("report_dir") else None,
                requirements=data.get("requirements"),
                session_reports=tuple(data.get("session_reports") or ("results", "summary")),
            )
        except OSError as exc:
            raise UsageError(f"--conformance-config {path}: cannot read: {exc.strerror or exc}") from None
        except (ValueError, KeyError, TypeError) as exc:
            raise UsageError(f"--conformance-config {path}: not a run configuration ({type(exc).__name__})") from None
    vendor = config.getoption("--conformance-vendor")
    if not vendor:
        given = [name for name in _SINGLE_TARGET_OPTIONS if config.getoption(name)]
        if given:
            raise UsageError(f"{given[0]} needs --conformance-vendor (one of: {', '.join(vendor_names())})")
        return None
    if vendor not in vendor_names():
        raise UsageError(f"--conformance-vendor: unknown vendor {vendor!r} (known: {', '.join(vendor_names())})")
    profile = load_vendor(vendor)
    try:
        get_profile(config.getoption("--conformance-profile"))
    except UsageError as exc:
        raise UsageError(f"--conformance-profile: {exc}") from None
    base_url = config.getoption("--conformance-base-url")
    if not base_url:
        raise UsageError(
            "--conformance-base-url is required: the plugin never defaults to a vendor's production URL "
            f"(for {vendor}: {profile.default_base_url}, or your staging deployment)"
        )
    try:
        base_url = check_base_url(base_url)
    except UsageError as exc:
        raise UsageError(f"--conformance-base-url: {exc}") from None
    token_env = config.getoption("--conformance-token-env")
    if token_env is not None and not ENV_NAME.match(token_env):
        raise UsageError(f"--conformance-token-env: expected an environment variable's NAME, got {token_env!r}")
    workers = _workers_option(config.getoption("--conformance-workers"))
    seed = config.getoption("--conformance-seed")
    if seed is not None and seed < 0:
        raise UsageError(f"--conformance-seed: expected an integer >= 0, got {seed}")
    report = config.getoption("--conformance-report-dir")
    report_dir = output_dir("--conformance-report-dir")(report) if report else None
    run_id = secrets.token_hex(4)
    return RunConfig(
        run_id=run_id,
        profile=config.getoption("--conformance-profile"),
        seed=seed if seed is not None else secrets.randbits(32),
        targets=[
            Target(
                name=vendor,
                vendor=vendor,
                base_url=base_url,
                token_env=token_env or profile.token_env,
                other_token_env=config.getoption("--conformance-other-token-env") or None,
                disposable_ids=tuple(config.getoption("--conformance-disposable-id")),
                allow_destructive=bool(config.getoption("--conformance-allow-destructive")),
                workers=DEFAULT_WORKERS if workers is None else workers,
            )
        ],
        report_dir=report_dir,
    )


def _workers_option(text: str | None) -> int | None:
    """``--conformance-workers``: None when not given, else ``check_workers``' count (``UsageError`` otherwise)."""
    from conformance.target.model import check_workers

    if text is None:
        return None
    try:
        value: object = int(text)
    except ValueError:
        value = text  # not a number: check_workers names it in its one line
    return check_workers(value, "--conformance-workers")


@dataclass
class Case:
    """One requirement on one target: what a test of the suite judges."""

    target: Target
    requirement: Requirement
    session: ConformanceSession

    def __repr__(self) -> str:
        """``target::requirement`` (what reports show as the test's parameter; no configuration in it)."""
        return f"{self.target.name}::{self.requirement.id}"

    def judge(self) -> None:
        """Run the requirement's check (or take its verdict from the target's pool), record it, end the test."""
        from conformance.run.judging import judge_row

        ctx = self.session.context(self.target)
        verdict = self.session.pooled_verdict(self)
        if verdict is None:
            verdict = judge_row(ctx, self.requirement)
        status, evidence = verdict.status, verdict.evidence
        message = ctx.redactor.text(verdict.message)
        self.session.record(self, status, message, evidence, verdict.duration_ms)
        _allure_labels(self, status, evidence)
        if status == "skipped":
            pytest.skip(message)
        if status in {"failed", "error"}:
            pytest.fail(f"[{self.requirement.level} {self.requirement.id}] {status}: {message}", pytrace=False)


def _allure_labels(case: Case, status: str, evidence: Evidence) -> None:
    try:
        import allure as allure_module
    except ImportError:  # pragma: no cover - allure-pytest is a dependency
        return
    allure: Any = allure_module
    requirement = case.requirement
    allure.dynamic.label("vendor", requirement.vendor)
    allure.dynamic.label("target", case.target.name)
    allure.dynamic.label("operation", requirement.operation)
    allure.dynamic.label("requirement", requirement.id)
    allure.dynamic.parent_suite(requirement.vendor)
    allure.dynamic.suite(case.target.name)
    allure.dynamic.sub_suite(requirement.operation)
    allure.dynamic.severity(
        allure.severity_level.CRITICAL if requirement.level == "MUST" else allure.severity_level.MINOR
    )
    allure.dynamic.title(f"{requirement.id}: {requirement.rule}")
    allure.dynamic.description(f"{requirement.rule}\n\nsource: {requirement.source.seed} {requirement.source.field}")
    for exchange in evidence.exchanges[:3]:
        allure.attach(exchange.curl(), name="request (curl)", attachment_type=allure.attachment_type.TEXT)
        allure.attach(
            f"HTTP {exchange.status}\n"
            + "\n".join(f"{k}: {v}" for k, v in exchange.response_headers.items())
            + "\n\n"
            + exchange.response_text[:4000],
            name="response",
            attachment_type=allure.attachment_type.TEXT,
        )


class ConformanceSession:
    """The suite's state for one pytest session: contexts per target and collected results."""

    def __init__(self, run: RunConfig) -> None:
        from conformance.catalog.loader import load_vendor
        from conformance.redact import Redactor
        from conformance.results import RunResults
        from conformance.run.judging import RowJudge

        self.run = run
        self.redactor = Redactor()
        self._contexts: dict[str, TargetContext] = {}
        self.selected: list[Case] = []  # the cases pytest selected (set when collection ends)
        self._judge = RowJudge()
        self.results = RunResults(
            run_id=run.run_id,
            profile=run.profile,
            seed=run.seed,
            started=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            targets=[
                {**t.as_dict(), "spec_version": str(load_vendor(t.vendor).spec.get("info", {}).get("version", ""))}
                for t in run.targets
            ],
            tool_versions=_tool_versions(),
        )

    def cases(self) -> list[Case]:
        """Every (target, requirement) pair, status checks last so they see every exchange."""
        from conformance.catalog.loader import load_vendor
        from conformance.checks.registry import is_last

        selected = set(self.run.requirements or [])
        out: list[Case] = []
        for target in self.run.targets:
            rows = [r for r in load_vendor(target.vendor).requirements if not selected or r.id in selected]
            rows.sort(key=lambda r: is_last(r.check))
            out += [Case(target, r, self) for r in rows]
        return out

    def context(self, target: Target) -> TargetContext:
        """The context of ``target``, created on first use."""
        from conformance.catalog.loader import load_vendor
        from conformance.catalog.profiles import get_profile
        from conformance.target.context import TargetContext

        if target.name not in self._contexts:
            ledger = self.run.report_dir / f"ledger-{target.name}.jsonl" if self.run.report_dir else None
            self._contexts[target.name] = TargetContext(
                target,
                load_vendor(target.vendor),
                get_profile(self.run.profile),
                run_id=self.run.run_id,
                seed=self.run.seed,
                redactor=self.redactor,
                ledger_path=ledger,
            )
        return self._contexts[target.name]

    def pooled_verdict(self, case: Case) -> RowVerdict | None:
        """The verdict of ``case`` judged by its target's pool (``workers`` > 1); None: judge it in place."""
        from conformance.checks.registry import is_last
        from conformance.run.judging import Row

        if not self._judge.started:
            rows: dict[str, tuple[int, list[Row]]] = {}
            for selected in self.selected or [case]:
                _, listed = rows.setdefault(selected.target.name, (selected.target.workers, []))
                listed.append(
                    Row(
                        (selected.target.name, selected.requirement.id),
                        self.context(selected.target),
                        selected.requirement,
                        is_last(selected.requirement.check),
                    )
                )
            self._judge.start(rows)
        return self._judge.verdict(case.target.name, (case.target.name, case.requirement.id))

    def record(self, case: Case, status: str, message: str, evidence: Evidence, duration: float) -> None:
        """Keep the verdict on one case."""
        from conformance.results import RequirementResult

        requirement = case.requirement
        self.results.results.append(
            RequirementResult(
                requirement=requirement.id,
                level=requirement.level,
                vendor=requirement.vendor,
                operation=requirement.operation,
                target=case.target.name,
                status=status,
                rule=requirement.rule,
                source={"seed": requirement.source.seed, "field": requirement.source.field},
                message=message,
                evidence=self.redactor.data(evidence.as_dict()),
                duration_ms=round(duration, 1),
            )
        )

    def finish(self) -> None:
        """Clean up every target, then write every exchange (redacted), results.json and summary.md."""
        from conformance.reports.writers import write_run_reports

        self._judge.close()  # rows in flight finish before the cleanup starts; rows not started stay unjudged
        for name, ctx in self._contexts.items():
            for leak in ctx.cleanup():
                reason = ctx.leak_reasons.get(leak) or "cleanup did not confirm deletion"
                self.results.leaks.append({"target": name, "id": leak, "reason": ctx.redactor.text(reason)})
            self.results.requests += ctx.client.request_count
            self.results.retries += ctx.client.retry_count
            for entry in self.results.targets:
                if entry.get("name") == name:
                    entry.update(ctx.stats())
            if self.run.report_dir is not None:
                self.write_exchanges(name, ctx)
            ctx.close()
        self.results.finished = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        if self.run.report_dir is not None:
            write_run_reports(self.results, self.run.report_dir, formats=self.run.session_reports)

    def write_exchanges(self, name: str, ctx: TargetContext) -> None:
        """``exchanges-<target>.jsonl``: every exchange with the target, retried attempts included, redacted again."""
        from conformance.reports.har import exchange_record
        from conformance.reports.inputs import exchanges_file

        assert self.run.report_dir is not None
        path = exchanges_file(self.run.report_dir, name)
        path.parent.mkdir(parents=True, exist_ok=True)
        exchanges = sorted([*ctx.client.exchanges, *ctx.client.retried], key=lambda e: e.started)
        with path.open("w", encoding="utf-8") as out:
            for seq, exchange in enumerate(exchanges):
                record = self.redactor.data(exchange_record(exchange, name, seq))
                out.write(json.dumps(record, ensure_ascii=False) + "\n")


def _tool_versions() -> dict[str, str]:
    from conformance.results import tool_versions

    return tool_versions("schemathesis", "hypothesis", "pytest", "jsonschema", "httpx")


_SESSION_KEY = pytest.StashKey[ConformanceSession]()
_UNCONFIGURED_KEY = pytest.StashKey[bool]()
_SELECTED_KEY = pytest.StashKey[list[Case]]()
_NOT_JUDGED_KEY = pytest.StashKey[tuple[int, int, str]]()
_PROGRESS_KEY = pytest.StashKey[Any]()


def pytest_configure(config: pytest.Config) -> None:
    """Build the session state when the suite has something to judge."""
    from conformance.errors import ConformanceError

    config.addinivalue_line("markers", "requirement(id): the catalog requirement a conformance test checks")
    try:
        run = _config_from_options(config)
    except ConformanceError as exc:
        raise pytest.UsageError(f"conformance: {exc}") from None
    if run is not None:
        from conformance.run.xdist import refuse_xdist

        refuse_xdist(config)
        config.stash[_SESSION_KEY] = ConformanceSession(run)
        from conformance.run.progress import Writer

        names = [t.name for t in run.targets]
        writer = Writer.from_env(f"{run.run_id}-{names[0] if names else 'none'}", names, 0)
        if writer is not None:
            writer.update(force=True, phase="collecting")
            config.stash[_PROGRESS_KEY] = writer


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrize ``conformance_case`` with every (target, requirement)."""
    if "conformance_case" not in metafunc.fixturenames:
        return
    session = metafunc.config.stash.get(_SESSION_KEY, None)
    if session is None:
        metafunc.config.stash[_UNCONFIGURED_KEY] = True
    cases = session.cases() if session else []
    metafunc.parametrize(
        "conformance_case",
        [
            pytest.param(c, id=f"{c.target.name}::{c.requirement.id}", marks=pytest.mark.requirement(c.requirement.id))
            for c in cases
        ],
    )


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Expose requirement id and level as JUnit properties."""
    callspec: Any = getattr(item, "callspec", None)
    case = callspec.params.get("conformance_case") if callspec else None
    if isinstance(case, Case):
        item.user_properties.append(("requirement", case.requirement.id))
        item.user_properties.append(("level", case.requirement.level))
        item.user_properties.append(("vendor", case.requirement.vendor))
        item.user_properties.append(("target", case.target.name))


INCOMPLETE_EXIT = 3  # the CLI's "not judged"; pytest's own codes stay for everything else


def pytest_collection_finish(session: pytest.Session) -> None:
    """A suite collected with nothing to judge is a usage error (never a green run of skipped tests); otherwise
    remember the selected rows: those not judged when the session ends are recorded as errors."""
    if session.config.stash.get(_UNCONFIGURED_KEY, False):
        from conformance.catalog.loader import vendor_names

        raise pytest.UsageError(
            "conformance: the suite needs a target: --conformance-vendor V --conformance-base-url URL "
            f"(vendors: {', '.join(vendor_names())})"
        )
    if session.config.stash.get(_SESSION_KEY, None) is not None:
        from conformance.run.unjudged import selected_cases

        session.config.stash[_SELECTED_KEY] = selected_cases(session.items)
        session.config.stash[_SESSION_KEY].selected = session.config.stash[_SELECTED_KEY]
        writer = session.config.stash.get(_PROGRESS_KEY, None)
        if writer is not None:
            from conformance.run.progress import Hooks

            writer.update(force=True, phase="judging", total=len(session.items))
            session.config.pluginmanager.register(
                Hooks(writer, session.config.stash[_SESSION_KEY]), "conformance-progress"
            )


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Clean up and write the reports; an INCOMPLETE or set-up-stopped session does not exit 0."""
    from conformance.results import incomplete_reasons

    state = session.config.stash.get(_SESSION_KEY, None)
    if state is not None:
        from conformance.run.unjudged import record_not_judged, stop_reason

        selected = session.config.stash.get(_SELECTED_KEY, [])
        reason = stop_reason(session, exitstatus)
        session.config.stash[_NOT_JUDGED_KEY] = (record_not_judged(state, selected, reason), len(selected), reason)
        writer = session.config.stash.get(_PROGRESS_KEY, None)
        if writer is not None:
            writer.update(force=True, phase="cleanup")
        state.finish()
        if writer is not None:
            writer.update(force=True, phase="done", requests=state.results.requests)
        allure_dir = session.config.getoption("allure_report_dir", None)
        if allure_dir:
            from conformance.reports.allure import write_allure_extras

            write_allure_extras(Path(allure_dir), state.results, state.redactor.text)
        allowed = bool(session.config.getoption("--conformance-allow-incomplete", False))
        setup = [t for t in state.results.targets if t.get("setup_problem")]
        if exitstatus == 0 and (setup or (incomplete_reasons(state.results.results) and not allowed)):
            session.exitstatus = INCOMPLETE_EXIT


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    """The verdict of the suite's session: INCOMPLETE names the option that would run the skipped MUST rows."""
    missed, total, reason = config.stash.get(_NOT_JUDGED_KEY, (0, 0, ""))
    if missed:
        terminalreporter.write_line(
            f"conformance: {missed} of {total} rows not judged ({reason}): recorded as errors, not a PASS",
            red=True,
            bold=True,
        )
    state = config.stash.get(_SESSION_KEY, None)
    if state is None:
        return
    summary = state.results.summary()
    terminalreporter.write_sep("=", f"conformance verdict: {summary['verdict']}")
    for target in state.results.targets:
        if target.get("setup_problem"):
            terminalreporter.write_line(f"not judged: target {target.get('name')}: {target['setup_problem']}")
    for reason in summary["incomplete"]:
        terminalreporter.write_line(f"INCOMPLETE {reason} (plugin options: --conformance-<option>)")


def conformance_session(config: pytest.Config) -> ConformanceSession | None:
    """The suite state of a pytest config (for callers embedding the plugin)."""
    return config.stash.get(_SESSION_KEY, None)
