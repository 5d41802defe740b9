"""What a run does around its pytest sessions on live targets: preflight, sweep, and completing the results."""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from conformance import interrupts
from conformance.catalog.loader import load_vendor
from conformance.catalog.model import Vendor
from conformance.catalog.profiles import get_profile
from conformance.errors import UsageError
from conformance.exchange import Exchange
from conformance.redact import Redactor
from conformance.results import RequirementResult, RunResults
from conformance.target.context import ABSENT_MARK, retry_cleanup
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


def check_tokens(targets: Sequence[Target]) -> None:
    """``UsageError`` (exit 2, nothing sent) when a live target's token variable, or its restricted one, is unset."""
    for target in targets:
        if target.owned:
            continue
        for role, name, flag in (
            ("token", target.token_env, "--token-env"),
            ("restricted token", target.restricted_token_env, "--restricted-token-env"),
            ("second identity's token", target.other_token_env, "--other-token-env"),
        ):
            if name and not os.environ.get(name):
                raise UsageError(
                    f"target {target.name}: ${name} (its {role}) is not set: export it, or name another variable "
                    f"with {flag}"
                )


def _is_json(exchange: Exchange) -> bool:
    try:
        json.loads(exchange.response_text)
    except ValueError:
        return False
    return exchange.status is not None and bool(exchange.response_text.strip())


def _alternative(base_url: str, server_path: str) -> tuple[str, bool]:
    """The base URL one level off: with the spec's server path added or removed (a candidate), else one level deeper."""
    if server_path:
        if base_url.endswith(server_path):
            return base_url[: -len(server_path)], False
        return base_url + server_path, True
    return base_url + "/cf-preflight-" + secrets.token_hex(3), False


def check_base_path(target: Target, run_id: str) -> None:
    """``UsageError`` when the base URL does not answer the spec's paths like the spec's server (a few safe probes).

    Only DELETEs of an id that cannot exist are sent, with and without the token, at the base URL and at the base
    URL one level off (the vendor's server path added or removed, or one segment deeper). The route of a real API
    answers a request without credentials 401/403, a path that is not the API 404; a JSON answer beats an HTML one.
    So: the other base URL enforcing auth (or answering JSON) where this one does not is "did you mean …?"; the
    same non-JSON page at both, with no auth enforced, is a base URL that reaches no API. A correct server that
    answers unknown ids 404 in JSON, or a server whose only fault is HTML 404 pages, passes.
    """
    vendor: Vendor = load_vendor(target.vendor)
    if "delete" not in vendor.operations:
        return
    op = vendor.operations["delete"]
    absent = f"{target.name_prefix}-{run_id}{target.slot}-{ABSENT_MARK}-{secrets.token_hex(6)}"
    path = op.url_path(vendor.server_path, absent)
    token = target.token()
    auth = {vendor.auth.header: f"{vendor.auth.scheme} {token}".strip()}
    client = RecordingClient(
        target.base_url,
        redactor=Redactor([token]),
        timeout=min(target.timeout, PREFLIGHT_TIMEOUT),
        verify=target.ssl_verify(),
        extra_headers=target.extra_headers,
        max_retries=0,
        deadline=target.suite_deadline,
        trust_env=target.trust_env,
        stop=interrupts.STOP,
        max_body_bytes=4096,
    )
    other, candidate = _alternative(target.base_url, vendor.server_path)
    try:
        here_token = client.send("DELETE", path, headers=auth, note="preflight: base path")
        here_anon = client.send("DELETE", path, note="preflight: base path, no credentials")
        there_token = client.send("DELETE", other + path, headers=auth, note="preflight: one level off")
        there_anon = client.send("DELETE", other + path, note="preflight: one level off, no credentials")
    except (TimeBudgetExceeded, RunStopped, RetriesExhausted):
        return  # judged by the run's own limits
    finally:
        client.close()
    answers = (here_token, here_anon, there_token, there_anon)
    if any(e.transport_error for e in answers[:2]) or any(e.status in {429, 502, 503, 504} for e in answers):
        return  # inconclusive (unreachable or busy): the run's own retries and limits judge that
    expected = vendor.server_path or "/"
    here_auth = here_anon.status in {401, 403}
    there_auth = not there_anon.transport_error and there_anon.status in {401, 403}
    there_json = not there_token.transport_error and _is_json(there_token)
    hint = f"did you mean --base-url {other}? (the spec's server path is {expected})"
    if candidate and there_auth and not here_auth:
        raise UsageError(
            f"target {target.name}: base_url {target.base_url} answers {path} like no API (no credentials: "
            f"{here_anon.status}) while {other} enforces authentication there ({there_anon.status}): {hint}"
        )
    if candidate and there_json and not _is_json(here_token):
        raise UsageError(
            f"target {target.name}: base_url {target.base_url} answers {path} {here_token.status} "
            f"{here_token.content_type or 'without a content type'}, {other} answers JSON: {hint}"
        )
    if (
        not here_auth
        and not _is_json(here_token)
        and not there_json
        and here_token.status == there_token.status
        and here_token.content_type == there_token.content_type
    ):
        raise UsageError(
            f"target {target.name}: base_url {target.base_url} answers the same {here_token.status} "
            f"{here_token.content_type or 'non-JSON'} page to the spec's path and to a path that cannot exist: "
            f"it does not look like the {vendor.title} API (expected its server path {expected}, e.g. "
            f"{vendor.default_base_url})"
        )
    if here_token.status == 401 and here_auth and token:
        raise UsageError(
            f"target {target.name}: the token in ${target.token_env} is refused (DELETE {path} answered 401 with it): "
            "a wrong or expired token?"
        )


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
