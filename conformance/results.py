"""The results.json model: one entry per requirement and target, with its status and evidence."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any

from conformance.errors import UsageError

FORMAT_NAME = "conformance-results"
FORMAT_VERSION = 1
MAX_BEFORE = 20
# What a skipped MUST row's reason says about the option that would let it run (the verdict then names it).
UNLOCKING_OPTIONS = (
    ("allow-destructive", "--allow-destructive (allow_destructive = true)"),
    ("allow_destructive", "--allow-destructive (allow_destructive = true)"),
    ("disposable", "--disposable-id (disposable_ids)"),
    ("restricted token", "--restricted-token-env (restricted_token_env)"),
    ("restricted_token_env", "--restricted-token-env (restricted_token_env)"),
    ("other_token_env", "--other-token-env (other_token_env)"),
)


def unlocking_option(message: str) -> str | None:
    """The option that would let a row skipped with ``message`` run, when the skip is one of configuration."""
    text = message.lower()
    for needle, option in UNLOCKING_OPTIONS:
        if needle in text:
            return option
    return None


def incomplete_reasons(results: list[RequirementResult]) -> list[str]:
    """One line per cause of skipped MUST rows (they are not a pass), naming the option that would run them."""
    causes: dict[str, list[str]] = {}
    for result in results:
        if result.level != "MUST" or result.status != "skipped":
            continue
        option = unlocking_option(result.message)
        key = f"needs {option}" if option else " ".join(result.message.split())[:160]
        causes.setdefault(key, []).append(f"{result.requirement} on {result.target}")
    return [
        f"{len(rows)} MUST row(s) skipped, {key}: {', '.join(rows[:3])}{' …' if len(rows) > 3 else ''}"
        for key, rows in causes.items()
    ]


@dataclass
class RequirementResult:
    """The verdict on one requirement for one target."""

    requirement: str
    level: str
    vendor: str
    operation: str
    target: str
    status: str
    rule: str
    source: dict[str, str]
    message: str = ""
    evidence: dict[str, Any] = field(default_factory=dict)
    duration_ms: float = 0.0

    @property
    def reproduction(self) -> str:
        """The curl command of the first evidence exchange, if any."""
        exchanges = self.evidence.get("exchanges") or []
        return str(exchanges[0].get("curl", "")) if exchanges else ""

    def reproduction_exchanges(self) -> list[dict[str, Any]]:
        """Every exchange the verdict needs, in order: each evidence exchange after those it needs first."""
        out: list[dict[str, Any]] = []
        seen: set[str] = set()

        def add(exchange: Any, depth: int = 0) -> None:
            if not isinstance(exchange, dict):
                return
            for earlier in (exchange.get("before") or [])[:MAX_BEFORE] if depth < 3 else []:
                add(earlier, depth + 1)
            key = json.dumps({k: v for k, v in exchange.items() if k != "before"}, sort_keys=True, default=str)
            if key not in seen:
                seen.add(key)
                out.append(exchange)

        for exchange in self.evidence.get("exchanges") or []:
            add(exchange)
        return out


@dataclass
class RunResults:
    """Everything one run concluded."""

    run_id: str
    profile: str
    seed: int
    started: str
    finished: str = ""
    targets: list[dict[str, Any]] = field(default_factory=list)
    results: list[RequirementResult] = field(default_factory=list)
    leaks: list[dict[str, str]] = field(default_factory=list)
    tool_versions: dict[str, str] = field(default_factory=dict)
    requests: int = 0
    retries: int = 0
    notes: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        """How many results have each status."""
        out: dict[str, int] = {}
        for result in self.results:
            out[result.status] = out.get(result.status, 0) + 1
        return out

    def failed(self, level: str | None = None) -> list[RequirementResult]:
        """The failed results, optionally of one level."""
        return [r for r in self.results if r.status == "failed" and (level is None or r.level == level)]

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready results."""
        data = asdict(self)
        data = {"format": FORMAT_NAME, "version": FORMAT_VERSION, **data}
        data["summary"] = self.summary()
        return data

    def summary(self) -> dict[str, Any]:
        """Counts and the verdict: FAIL (a MUST failed or a leak), INCOMPLETE (a MUST skipped), ERROR, PASS."""
        counts = self.counts()
        must_failed = len(self.failed("MUST"))
        incomplete = incomplete_reasons(self.results)
        must_skipped = sum(r.level == "MUST" and r.status == "skipped" for r in self.results)
        errors = counts.get("error", 0)
        if must_failed or self.leaks:
            verdict = "FAIL"
        elif must_skipped:
            verdict = "INCOMPLETE"
        elif errors:
            verdict = "ERROR"
        else:
            verdict = "PASS"
        return {
            "verdict": verdict,
            "counts": counts,
            "must_failed": must_failed,
            "must_skipped": must_skipped,
            "should_failed": len(self.failed("SHOULD")),
            "errors": errors,
            "not_judged": sum(r.status == "error" and r.message.startswith("not judged") for r in self.results),
            "leaks": len(self.leaks),
            "incomplete": incomplete,
        }

    def write(self, path: Path) -> None:
        """Write results.json."""
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.as_dict(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def from_dict(data: Mapping[str, Any]) -> RunResults:
    """The inverse of ``RunResults.as_dict``."""
    if data.get("format") != FORMAT_NAME:
        raise UsageError("not a conformance results.json (format field missing)")
    if int(data.get("version", 0)) > FORMAT_VERSION:
        raise UsageError(f"results.json version {data.get('version')} is newer than this tool ({FORMAT_VERSION})")
    known = {f for f in RequirementResult.__dataclass_fields__}
    return RunResults(
        run_id=str(data["run_id"]),
        profile=str(data["profile"]),
        seed=int(data["seed"]),
        started=str(data["started"]),
        finished=str(data.get("finished", "")),
        targets=list(data.get("targets", [])),
        results=[RequirementResult(**{k: v for k, v in r.items() if k in known}) for r in data.get("results", [])],
        leaks=list(data.get("leaks", [])),
        tool_versions=dict(data.get("tool_versions", {})),
        requests=int(data.get("requests", 0)),
        retries=int(data.get("retries", 0)),
        notes=[str(n) for n in data.get("notes", [])],
    )


@cache
def results_schema() -> dict[str, Any]:
    """The JSON Schema of results.json shipped in the package (``conformance/results.schema.json``)."""
    schema: dict[str, Any] = json.loads(files("conformance").joinpath("results.schema.json").read_text("utf-8"))
    return schema


def _short(value: Any, limit: int = 60) -> str:
    text = json.dumps(value, ensure_ascii=True, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def validate_results(data: Any, where: str) -> None:
    """``UsageError`` naming the file, the JSON path and what was expected when ``data`` breaks the schema."""
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import best_match

    if isinstance(data, Mapping) and isinstance(data.get("version"), int) and data["version"] > FORMAT_VERSION:
        raise UsageError(f"{where}: $.version: {data['version']} is newer than this tool reads ({FORMAT_VERSION})")
    try:
        error = best_match(Draft202012Validator(results_schema()).iter_errors(data))
    except RecursionError:
        raise UsageError(f"{where}: nested too deeply to be a results.json") from None
    if error is None:
        return
    if error.validator == "required":
        expected = str(error.message).split(" is a required", 1)[0] + " (a required member)"
    elif error.validator in {"type", "enum", "const", "pattern", "minimum", "maxLength", "minLength", "maxItems"}:
        expected = f"{error.validator} {_short(error.validator_value)}, got {_short(error.instance)}"
    else:
        expected = f"{error.validator} {_short(error.validator_value)} (one of the shapes the schema allows)"
    raise UsageError(f"{where}: {error.json_path}: expected {expected}")


def load_results(path: Path, *, validate: bool = False) -> RunResults:
    """Read a results.json file (or the one inside a run directory); with ``validate``, check it against the schema."""
    if path.is_dir():
        path = path / "results.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None
    except RecursionError:
        raise UsageError(f"{path}: nested too deeply to be a results.json") from None
    except ValueError as exc:
        raise UsageError(f"{path} is not JSON: {exc}") from None
    if validate:
        validate_results(data, str(path))
    try:
        return from_dict(data)
    except KeyError as exc:
        raise UsageError(f"{path} is not a valid results.json: missing key {exc}") from None
    except (ValueError, TypeError, AttributeError) as exc:  # AttributeError: a list or a number, not an object
        raise UsageError(f"{path} is not a valid results.json: {' '.join(str(exc).split())[:200]}") from None


def tool_versions(*packages: str) -> dict[str, str]:
    """The installed versions of ``packages`` ("not installed" when absent); ``conformance`` is this suite."""
    from importlib.metadata import PackageNotFoundError, version

    from conformance._version import __version__

    out: dict[str, str] = {"conformance": __version__}
    for package in packages:
        try:
            out[package] = version(package)
        except PackageNotFoundError:
            out[package] = "not installed"
    return out
