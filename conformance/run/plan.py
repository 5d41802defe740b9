"""``conformance run --dry-run``: the plan of a run (targets, requirements, the kinds of requests), nothing sent."""

from __future__ import annotations

import os
from collections.abc import Sequence

from conformance.catalog.loader import load_vendor
from conformance.checks.registry import RequestKind, request_kinds, validate_rows
from conformance.target.model import Target

__all__ = ["RequestKind", "embedded_plan_targets", "limits_text", "plan_text", "request_kinds"]


def limits_text(target: Target) -> str:
    parts = [
        f"timeout {target.timeout:g}s",
        f"budget {target.budget:g}s" if target.budget else "no time budget",
        f"max {target.max_requests} requests",
        f"rate limit {target.rate_limit:g}/s" if target.rate_limit else "no rate limit",
        f"{target.max_retries} retries",
        f"at most {target.max_live_resources} live resources",
    ]
    return ", ".join(parts)


def plan_text(targets: Sequence[Target], requirements: Sequence[str] = (), profile: str = "quick") -> str:
    """The dry-run plan of a run over ``targets`` (no request is sent, no server started)."""
    selected = set(requirements)
    lines = [f"dry run: nothing is sent. profile {profile}; {len(targets)} target(s), run in parallel when several"]
    for target in targets:
        vendor = load_vendor(target.vendor)
        validate_rows(vendor)
        token = "set" if os.environ.get(target.token_env) else "NOT SET"
        destructive = "allowed" if target.allow_destructive else "NOT allowed (those checks are skipped)"
        disposable = (
            "disposable ids seeded by the mock" if target.owned else f"{len(target.disposable_ids)} disposable id(s)"
        )
        lines += [
            "",
            f"target {target.name}: vendor {target.vendor}, {target.base_url}",
            f"  token from ${target.token_env} ({token})"
            + (f", restricted token from ${target.restricted_token_env}" if target.restricted_token_env else "")
            + (f", second identity's token from ${target.other_token_env}" if target.other_token_env else ""),
            f"  destructive calls {destructive}; names start with {target.name_prefix}-<run id>-; {disposable}",
            f"  limits: {limits_text(target)}",
        ]
        rows = [r for r in vendor.requirements if not selected or r.id in selected]
        width = max((len(r.id) for r in rows), default=10)
        kinds_seen: dict[str, bool] = {}
        for requirement in rows:
            kinds = request_kinds(vendor, requirement)
            skipped = not target.allow_destructive and any(k.destructive for k in kinds)
            mark = "  [skipped: destructive]" if skipped else ""
            lines.append(
                f"  {requirement.level:<6} {requirement.id:<{width}} {requirement.check:<22} "
                f"{'; '.join(k.text for k in kinds)}{mark}"
            )
            for kind in kinds:
                kinds_seen[kind.text] = kind.destructive
        lines.append(f"  {len(rows)} requirement(s); kinds of requests:")
        lines += [f"    - {text}{' (writes)' if writes else ''}" for text, writes in kinds_seen.items()]
    return "\n".join(lines)


def embedded_plan_targets(vendors: Sequence[str]) -> list[Target]:
    """The targets of an embedded run, for its plan (the mocks are not started)."""
    from conformance.catalog.loader import vendor_names

    names = list(vendors) or list(vendor_names())
    return [
        Target(
            name=f"{name}-mock",
            vendor=name,
            base_url="(embedded reference mock, started at run time)",
            token_env="CONFORMANCE_EMBEDDED_TOKEN",
            owned=True,
        )
        for name in names
    ]
