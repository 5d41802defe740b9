"""What a run does around its pytest sessions on live targets: preflight, sweep, and completing the results."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from conformance import interrupts
from conformance.catalog.loader import load_vendor
from conformance.catalog.profiles import get_profile
from conformance.redact import Redactor
from conformance.results import RequirementResult, RunResults
from conformance.target.context import retry_cleanup
from conformance.target.http import RecordingClient, RetriesExhausted, RunStopped, TimeBudgetExceeded
from conformance.target.ledger import ledgers_of, leftovers
from conformance.target.model import Target

PREFLIGHT_TIMEOUT = 5.0


def preflight(target: Target) -> str | None:
    """Why ``target`` cannot be reached at all (one bounded HEAD, no retry), or None when it answers anything."""
    client = RecordingClient(
        target.base_url,
        redactor=Redactor([target.token()]),
        timeout=min(target.timeout, PREFLIGHT_TIMEOUT),
        verify=target.ssl_verify(),
        max_retries=0,
        deadline=target.suite_deadline,
        trust_env=target.trust_env,
        proxy=target.proxy,
        stop=interrupts.STOP,
        max_body_bytes=1024,
    )
    try:
        exchange = client.send("HEAD", "", note="preflight")
    except (TimeBudgetExceeded, RunStopped, RetriesExhausted) as exc:
        return f"{type(exc).__name__}: {exc}"
    finally:
        client.close()
    if exchange.transport_error:
        return f"unreachable at {target.base_url}: {exchange.transport_error}"
    return None


def sweep(target: Target, report_root: Path, run_id: str, profile: str) -> list[dict[str, str]]:
    """Retry the deletion of what earlier runs on this target left behind (their ledgers, same prefix)."""
    if target.owned or not target.sweep or not target.allow_destructive or not report_root.is_dir():
        return []
    vendor = load_vendor(target.vendor)
    outcomes: list[dict[str, str]] = []
    for path in ledgers_of(report_root, target.name):
        earlier, ids = leftovers(path, target)
        if earlier is None or earlier == run_id or not ids or interrupts.STOP.is_set():
            continue
        deleted, leaks = retry_cleanup(path, target, vendor, get_profile(profile), earlier, Redactor())
        outcomes += [{"run": earlier, "id": i, "outcome": "deleted"} for i in deleted]
        outcomes += [{"run": earlier, "id": i, "outcome": f"still there: {why}"} for i, why in leaks.items()]
    return outcomes


def target_entry(target: Target) -> dict[str, Any]:
    """The results.json entry of a target (as the plugin writes it)."""
    version = str(load_vendor(target.vendor).spec.get("info", {}).get("version", ""))
    return {**target.as_dict(), "spec_version": version}


def empty_results(run_id: str, profile: str, seed: int, targets: Sequence[Target]) -> RunResults:
    """Results of a run whose sessions wrote nothing (every target unreachable, or stopped before it began)."""
    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    return RunResults(
        run_id=run_id, profile=profile, seed=seed, started=now, targets=[target_entry(t) for t in targets]
    )


def complete(
    results: RunResults, targets: Sequence[Target], requirements: Sequence[str], reasons: Mapping[str, str]
) -> int:
    """Add an ``error`` result for every selected requirement a target was not judged on; how many were added."""
    selected = set(requirements)
    judged = {(r.target, r.requirement) for r in results.results}
    names = {str(t.get("name")) for t in results.targets}
    added = 0
    for target in targets:
        if target.name not in names:
            results.targets.append(target_entry(target))
        reason = reasons.get(target.name, "the session ended before judging it (see pytest.log)")
        for requirement in load_vendor(target.vendor).requirements:
            if (selected and requirement.id not in selected) or (target.name, requirement.id) in judged:
                continue
            results.results.append(
                RequirementResult(
                    requirement=requirement.id,
                    level=requirement.level,
                    vendor=requirement.vendor,
                    operation=requirement.operation,
                    target=target.name,
                    status="error",
                    rule=requirement.rule,
                    source={"seed": requirement.source.seed, "field": requirement.source.field},
                    message=f"not judged: {reason}",
                )
            )
            added += 1
    if not results.finished:
        results.finished = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    return added


def budget_notes(results: RunResults) -> list[str]:
    """A note per target whose time budget ran out."""
    return [
        f"time budget of {t.get('budget'):g}s exhausted on target {t.get('name')}: the checks left were not judged"
        for t in results.targets
        if t.get("time_budget_exhausted") and isinstance(t.get("budget"), (int, float))
    ]
