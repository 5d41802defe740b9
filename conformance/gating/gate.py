"""Gating: expectations (known failures), comparison with a baseline run, and the ``--fail-on`` verdict."""

from __future__ import annotations

import datetime as dt
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from conformance.catalog.validate import raise_all, schema_errors
from conformance.errors import ExitCode, UsageError
from conformance.results import RequirementResult, RunResults, incomplete_reasons, load_results

FailOn = Literal["must", "should", "regression"]
FAIL_ON: tuple[FailOn, ...] = ("must", "should", "regression")
EXPECTABLE = ("passed", "failed", "error", "skipped", "flaky")
Change = Literal["new-failure", "fixed", "still-failing", "unchanged"]
CHANGES: tuple[Change, ...] = ("new-failure", "fixed", "still-failing", "unchanged")
Outcome = Literal["expected", "unexpected-pass", "expired", "mismatch", "not-judged", "not-run", "unknown-requirement"]
BLOCKING_OUTCOMES = frozenset({"unexpected-pass", "expired", "unknown-requirement"})


@dataclass(frozen=True)
class Expectation:
    """A known, explained status of one requirement (on one target, or on any target that has it)."""

    requirement: str
    expected: tuple[str, ...]
    reason: str
    expires: dt.date | None = None
    target: str | None = None
    origin: str = ""

    def applies_to(self, target: str) -> bool:
        """Whether this expectation speaks about ``target``."""
        return self.target is None or self.target == target

    def expired(self, today: dt.date) -> bool:
        """Whether its expiry date has passed."""
        return self.expires is not None and self.expires < today


@dataclass(frozen=True)
class Comparison:
    """How one requirement on one target changed since the baseline."""

    target: str
    requirement: str
    level: str
    change: Change
    before: str | None
    after: str
    run_id: str


@dataclass(frozen=True)
class ExpectationOutcome:
    """What became of one expectation on one target of one run."""

    expectation: Expectation
    outcome: Outcome
    target: str
    run_id: str
    actual: str | None
    detail: str


@dataclass
class GateInputs:
    """What a gate judges with, loaded and validated before a run starts."""

    fail_on: FailOn = "must"
    baseline: RunResults | None = None
    baseline_label: str = ""
    expectations: list[Expectation] = field(default_factory=list)
    allow_incomplete: bool = False


@dataclass
class Gate:
    """The verdict of one or several runs under ``--fail-on``, with regressions and expectation outcomes."""

    fail_on: FailOn
    exit_code: ExitCode
    blocking: list[str] = field(default_factory=list)
    comparisons: list[Comparison] = field(default_factory=list)
    outcomes: list[ExpectationOutcome] = field(default_factory=list)
    baseline_run_id: str | None = None
    incomplete: list[str] = field(default_factory=list)
    allow_incomplete: bool = False

    def changed(self, change: Change) -> list[Comparison]:
        """The comparisons of one kind (``new-failure`` are the regressions), MUST first."""
        return sorted((c for c in self.comparisons if c.change == change), key=lambda c: c.level != "MUST")

    def change_of(self, target: str, requirement: str, run_id: str) -> Change | None:
        """The baseline change of one cell, if a baseline was given."""
        for comparison in self.comparisons:
            if (comparison.target, comparison.requirement, comparison.run_id) == (target, requirement, run_id):
                return comparison.change
        return None

    def outcome_of(self, target: str, requirement: str, run_id: str) -> ExpectationOutcome | None:
        """The expectation outcome of one cell, if an expectation covers it."""
        for outcome in self.outcomes:
            key = (outcome.target, outcome.expectation.requirement, outcome.run_id)
            if key == (target, requirement, run_id):
                return outcome
        return None

    def notices(self) -> list[str]:
        """One line per regression and per expectation outcome worth a console line."""
        lines = [
            f"REGRESSION {c.level} {c.requirement} on {c.target} (was {c.before or 'not in baseline'}, now failed)"
            for c in self.changed("new-failure")
        ]
        for o in self.outcomes:
            word = {"expected": "KNOWN", "unexpected-pass": "STALE"}.get(o.outcome, o.outcome.upper())
            lines.append(f"{word:<10} {o.expectation.requirement} on {o.target}: {o.detail}")
        return lines

    @property
    def verdict(self) -> str:
        """FAIL, INCOMPLETE (MUST rows skipped: not a pass, even when ``--allow-incomplete`` exits 0), ERROR or PASS."""
        if self.exit_code == ExitCode.FAILURES:
            return "FAIL"
        if self.incomplete:
            return "INCOMPLETE"
        return {ExitCode.CONFORMANT: "PASS"}.get(self.exit_code, "ERROR")

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready gate."""
        return {
            "fail_on": self.fail_on,
            "verdict": self.verdict,
            "exit_code": int(self.exit_code),
            "blocking": self.blocking,
            "incomplete": self.incomplete,
            "allow_incomplete": self.allow_incomplete,
            "baseline_run_id": self.baseline_run_id,
            "comparisons": [
                {k: getattr(c, k) for k in ("target", "requirement", "level", "change", "before", "after", "run_id")}
                for c in self.comparisons
                if c.change != "unchanged"
            ],
            "expectations": [
                {
                    "requirement": o.expectation.requirement,
                    "target": o.target,
                    "run_id": o.run_id,
                    "expected": list(o.expectation.expected),
                    "actual": o.actual,
                    "outcome": o.outcome,
                    "reason": o.expectation.reason,
                    "expires": o.expectation.expires.isoformat() if o.expectation.expires else None,
                    "detail": o.detail,
                }
                for o in self.outcomes
            ],
        }


def _read_expectation_file(path: Path) -> Any:
    import yaml  # only for an expectations file: a run without one reads no YAML here

    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot read expectations {path}: {exc.strerror}") from None
    try:
        return tomllib.loads(text) if path.suffix == ".toml" else yaml.safe_load(text)
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as exc:
        raise UsageError(f"{path} is not valid {'TOML' if path.suffix == '.toml' else 'YAML'}: {exc}") from None


def _expires(value: Any, where: str) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value.date() if isinstance(value, dt.datetime) else value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise UsageError(f"{where}: expires {value!r} is not a date (YYYY-MM-DD)") from None


def _expectation(row: Any, default_target: str | None, where: str) -> Expectation:
    if not isinstance(row, Mapping):
        raise UsageError(f"{where}: an expectation is a mapping with requirement, expected and reason")
    requirement = str(row.get("requirement") or "").strip()
    if not requirement:
        raise UsageError(f"{where}: expectation without a requirement id")
    raw = row.get("expected", "failed")
    expected = tuple(str(s).lower() for s in (raw if isinstance(raw, list) else [raw]))
    wrong = [s for s in expected if s not in EXPECTABLE]
    if wrong or not expected or set(expected) == {"passed"}:
        raise UsageError(
            f"{where}: {requirement}: expected must be one or more of {', '.join(EXPECTABLE)} (not only passed), "
            f"got {raw!r}"
        )
    reason = " ".join(str(row.get("reason") or "").split())
    if not reason:
        raise UsageError(f"{where}: {requirement}: a known failure needs a reason (a ticket, a link, a sentence)")
    target = row.get("target", default_target)
    return Expectation(
        requirement=requirement,
        expected=expected,
        reason=reason,
        expires=_expires(row.get("expires"), f"{where}: {requirement}"),
        target=str(target) if target else None,
        origin=where,
    )


def load_expectations(paths: Iterable[Path]) -> list[Expectation]:
    """Read expectation files (YAML, or TOML by the ``.toml`` suffix); a ``UsageError`` names what is wrong."""
    out: list[Expectation] = []
    for path in paths:
        data = _read_expectation_file(path) or {}
        if not isinstance(data, Mapping) or not isinstance(data.get("expectations", []), list):
            raise UsageError(f"{path}: expected a mapping with an `expectations` list")
        raise_all([f"{path}: {line}" for line in schema_errors("expectations", data)], str(path))
        default_target = data.get("target")
        for index, row in enumerate(data.get("expectations", [])):
            out.append(_expectation(row, str(default_target) if default_target else None, f"{path}#{index + 1}"))
    seen: dict[tuple[str, str | None], str] = {}
    for expectation in out:
        key = (expectation.requirement, expectation.target)
        if key in seen:
            raise UsageError(f"{expectation.origin}: {expectation.requirement} is already expected at {seen[key]}")
        seen[key] = expectation.origin
    return out


def load_inputs(
    *,
    fail_on: str = "must",
    baseline: Sequence[Path] = (),
    expectations: Sequence[Path] = (),
    allow_incomplete: bool = False,
) -> GateInputs:
    """Validate the gate's options and load its files (before any run starts, so mistakes cost nothing)."""
    modes: dict[str, FailOn] = {m: m for m in FAIL_ON}
    mode = modes.get(fail_on)
    if mode is None:
        raise UsageError(f"--fail-on must be one of {', '.join(FAIL_ON)}, not {fail_on!r}")
    if mode == "regression" and not baseline:
        raise UsageError("--fail-on regression needs --baseline PREVIOUS_RESULTS_JSON")
    merged: RunResults | None = None
    for path in baseline:
        previous = load_results(path)
        if merged is None:
            merged = previous
        else:
            merged.results += previous.results
            merged.run_id += "+" + previous.run_id
    label = ", ".join(str(p) for p in baseline)
    return GateInputs(
        fail_on=mode,
        baseline=merged,
        baseline_label=label,
        expectations=load_expectations(expectations),
        allow_incomplete=allow_incomplete,
    )


def compare(current: RunResults, baseline: RunResults) -> list[Comparison]:
    """Each result of ``current`` against the same (target, requirement) in ``baseline``."""
    before = {(r.target, r.requirement): r.status for r in baseline.results}
    out: list[Comparison] = []
    for result in current.results:
        was = before.get((result.target, result.requirement))
        out.append(
            Comparison(
                target=result.target,
                requirement=result.requirement,
                level=result.level,
                change=_change(was, result.status),
                before=was,
                after=result.status,
                run_id=current.run_id,
            )
        )
    return out


def _change(before: str | None, after: str) -> Change:
    if after == "failed":
        return "still-failing" if before == "failed" else "new-failure"
    if before == "failed" and after == "passed":
        return "fixed"
    return "unchanged"


def _known_requirements() -> set[str]:
    from conformance.catalog.loader import load_vendor, vendor_names

    try:
        return {r.id for name in vendor_names() for r in load_vendor(name).requirements}
    except UsageError:
        return set()


def judge_expectations(
    runs: Sequence[RunResults], expectations: Sequence[Expectation], today: dt.date
) -> list[ExpectationOutcome]:
    """What became of every expectation on every target it applies to."""
    outcomes: list[ExpectationOutcome] = []
    known: set[str] | None = None
    for expectation in expectations:
        matched = False
        for run in runs:
            for result in run.results:
                if result.requirement == expectation.requirement and expectation.applies_to(result.target):
                    matched = True
                    outcomes.append(_judge_one(expectation, result, run.run_id, today))
        if matched:
            continue
        if known is None:
            known = _known_requirements() | {r.requirement for run in runs for r in run.results}
        if expectation.requirement not in known:
            outcome: Outcome = "unknown-requirement"
            detail = f"no catalog has requirement {expectation.requirement}: remove or correct the expectation"
        elif expectation.expired(today):
            outcome, detail = "expired", f"expired on {expectation.expires}: fix the target or renew it with a reason"
        else:
            outcome, detail = "not-run", "no run judged this requirement on a target it applies to"
        outcomes.append(ExpectationOutcome(expectation, outcome, expectation.target or "*", "", None, detail))
    return outcomes


def _judge_one(expectation: Expectation, result: RequirementResult, run_id: str, today: dt.date) -> ExpectationOutcome:
    actual = result.status
    expected = "/".join(expectation.expected)
    if expectation.expired(today):
        outcome: Outcome = "expired"
        detail = f"expired on {expectation.expires} (now {actual}): fix the target or renew the expectation"
    elif actual in expectation.expected:
        outcome, detail = "expected", f"{actual} as expected: {expectation.reason}"
    elif actual == "passed":
        outcome, detail = "unexpected-pass", f"expected {expected} but passed: the expectation is stale, remove it"
    elif actual == "skipped":
        outcome, detail = "not-judged", f"expected {expected} but skipped this time"
    else:
        outcome, detail = "mismatch", f"expected {expected} but {actual}"
    return ExpectationOutcome(expectation, outcome, result.target, run_id, actual, detail)


def evaluate(runs: Sequence[RunResults], inputs: GateInputs | None = None, *, today: dt.date | None = None) -> Gate:
    """Judge ``runs``: exit 1 on a blocking failure, leak or rotten expectation, 3 on errors or skipped MUST rows
    (INCOMPLETE; 0 for those with ``allow_incomplete``), else 0."""
    inputs = inputs or GateInputs()
    today = today or dt.date.today()
    comparisons = [c for run in runs for c in compare(run, inputs.baseline)] if inputs.baseline else []
    outcomes = judge_expectations(runs, inputs.expectations, today)
    excused = {(o.target, o.expectation.requirement, o.run_id) for o in outcomes if o.outcome == "expected"}
    new_failures = {(c.target, c.requirement, c.run_id) for c in comparisons if c.change == "new-failure"}
    blocking: list[str] = []
    errors = 0
    skipped: list[RequirementResult] = []
    for run in runs:
        for result in run.results:
            key = (result.target, result.requirement, run.run_id)
            if key in excused:
                continue
            if result.status == "skipped" and result.level == "MUST":
                skipped.append(result)
            if result.status == "error":
                errors += 1
            if result.status != "failed":
                continue
            if (
                (inputs.fail_on == "must" and result.level == "MUST")
                or inputs.fail_on == "should"
                or (inputs.fail_on == "regression" and key in new_failures)
            ):
                why = "new failure" if key in new_failures else "failed"
                blocking.append(f"{why} {result.level} {result.requirement} on {result.target}: {result.message}")
        blocking += [f"leak on {leak['target']}: {leak['id']} ({leak.get('reason', '')})" for leak in run.leaks]
    for outcome in outcomes:
        if outcome.outcome in BLOCKING_OUTCOMES:
            blocking.append(f"expectation {outcome.expectation.requirement} on {outcome.target}: {outcome.detail}")
    incomplete = incomplete_reasons(skipped)
    not_judged = errors or (incomplete and not inputs.allow_incomplete)
    code = ExitCode.FAILURES if blocking else ExitCode.INFRASTRUCTURE if not_judged else ExitCode.CONFORMANT
    return Gate(
        incomplete=incomplete,
        allow_incomplete=inputs.allow_incomplete,
        fail_on=inputs.fail_on,
        exit_code=code,
        blocking=[" ".join(line.split()) for line in blocking],
        comparisons=comparisons,
        outcomes=outcomes,
        baseline_run_id=inputs.baseline.run_id if inputs.baseline else None,
    )
