"""Human summaries of a run: a console table and summary.md (fits a CI step summary)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from conformance.results import RequirementResult, RunResults

if TYPE_CHECKING:
    from conformance.gating.gate import Gate

ORDER = ("failed", "error", "flaky", "skipped", "passed")


def _per_target(results: RunResults) -> dict[str, dict[str, int]]:
    table: dict[str, dict[str, int]] = {}
    for result in results.results:
        row = table.setdefault(result.target, {})
        key = f"{result.level}:{result.status}"
        row[key] = row.get(key, 0) + 1
    return table


def console_table(results: RunResults) -> str:
    """A short fixed-width table: per target, MUST and SHOULD passed/total, failures and errors."""
    lines = [f"{'target':<22} {'MUST':>9} {'SHOULD':>9} {'failed':>7} {'error':>6} {'skipped':>8}"]
    for target, row in sorted(_per_target(results).items()):
        must_total = sum(v for k, v in row.items() if k.startswith("MUST:") and not k.endswith("skipped"))
        should_total = sum(v for k, v in row.items() if k.startswith("SHOULD:") and not k.endswith("skipped"))
        failed = row.get("MUST:failed", 0) + row.get("SHOULD:failed", 0)
        errors = row.get("MUST:error", 0) + row.get("SHOULD:error", 0)
        skipped = row.get("MUST:skipped", 0) + row.get("SHOULD:skipped", 0)
        lines.append(
            f"{target:<22} {row.get('MUST:passed', 0):>4}/{must_total:<4} {row.get('SHOULD:passed', 0):>4}/"
            f"{should_total:<4} {failed:>7} {errors:>6} {skipped:>8}"
        )
    for result in _ordered_problems(results)[:15]:
        lines.append(
            f"  {result.status.upper():<6} {result.level:<6} {result.target}: {result.requirement}: "
            f"{_one_line(result.message)}"
        )
    if results.leaks:
        lines.append(
            f"  LEAK   {len(results.leaks)} resource(s) could not be cleaned up: "
            + ", ".join(f"{leak['target']}:{leak['id']}" for leak in results.leaks[:5])
        )
    return "\n".join(lines)


def _ordered_problems(results: RunResults) -> list[RequirementResult]:
    problems = [r for r in results.results if r.status in {"failed", "error", "flaky"}]
    return sorted(problems, key=lambda r: (r.level != "MUST", ORDER.index(r.status), r.target, r.requirement))


def _one_line(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def gate_markdown(gate: Gate, results: list[RunResults], title: str) -> list[str]:
    """The lead of a summary: a title naming the verdict and regressions, each with its reproduction, then the gate."""
    regressions = gate.changed("new-failure")
    since = f"run `{gate.baseline_run_id}`"
    if len(regressions) == 1:
        headline = f"{title}: {gate.verdict} — regression: {regressions[0].requirement} on {regressions[0].target}"
    elif regressions:
        headline = f"{title}: {gate.verdict} — {len(regressions)} regressions since run {gate.baseline_run_id}"
    else:
        headline = f"{title}: {gate.verdict}"
    lines = [f"# {headline}", ""]
    by_key = {(r.target, r.requirement, run.run_id): r for run in results for r in run.results}
    if regressions:
        lines += [f"## Regressions since {since}", ""]
        for comparison in regressions:
            result = by_key[(comparison.target, comparison.requirement, comparison.run_id)]
            was = comparison.before or "not in baseline"
            where = f"{result.target} in run {comparison.run_id}" if len(results) > 1 else result.target
            lines.append(
                f"- **new failure {result.level} `{result.requirement}`** on {where} (was {was}): "
                f"{_one_line(result.message)}"
            )
            if result.reproduction:
                lines.append(f"  - reproduce: `{result.reproduction}`")
        lines.append("")
    fixed = gate.changed("fixed")
    if fixed:
        lines += [f"## Fixed since {since}", ""]
        lines += [f"- {c.level} `{c.requirement}` on {c.target}" for c in fixed] + [""]
    if gate.baseline_run_id is not None and not regressions:
        still = len(gate.changed("still-failing"))
        lines += [f"No regression since {since} ({len(fixed)} fixed, {still} still failing).", ""]
    lines.append(f"Gate `--fail-on {gate.fail_on}`: **{gate.verdict}** (exit {int(gate.exit_code)})")
    lines += [f"- {_one_line(reason)}" for reason in gate.blocking[:20]]
    if len(gate.blocking) > 20:
        lines.append(f"- … and {len(gate.blocking) - 20} more")
    if gate.outcomes:
        lines += ["", "## Expectations (known failures)", ""]
        lines += [
            "| requirement | target | expected | actual | outcome | reason | expires |",
            "|---|---|---|---|---|---|---|",
        ]
        for o in gate.outcomes:
            e = o.expectation
            lines.append(
                f"| `{e.requirement}` | {o.target} | {'/'.join(e.expected)} | {o.actual or '-'} | {o.outcome} | "
                f"{_one_line(e.reason, 100)} | {e.expires or '-'} |"
            )
    return [*lines, ""]


def summary_markdown(results: RunResults, regressions: list[str] | None = None, gate: Gate | None = None) -> str:
    """summary.md: regressions first (with a gate), then counts and failed MUST requirements with reproductions."""
    counts = results.counts()
    must_failed = results.failed("MUST")
    if gate is not None:
        lines = gate_markdown(gate, [results], f"Conformance run {results.run_id}")
    else:
        not_judged = sum(r.status == "error" and r.message.startswith("not judged") for r in results.results)
        verdict = (
            "FAIL"
            if must_failed or results.leaks
            else f"INCOMPLETE ({not_judged} not judged)"
            if not_judged
            else "PASS"
        )
        lines = [f"# Conformance run {results.run_id}: {verdict}", ""]
    if regressions:
        lines += ["## Regressions", ""] + [f"- {r}" for r in regressions] + [""]
    lines.append(
        f"profile `{results.profile}`, seed `{results.seed}`, {results.requests} HTTP exchanges "
        f"({results.retries} retried after 429/502/503/504); " + ", ".join(f"{counts.get(s, 0)} {s}" for s in ORDER)
    )
    if results.notes:
        lines += ["", *[f"> **note:** {_one_line(note, 300)}" for note in results.notes]]
    lines += ["", "| target | vendor | MUST passed | SHOULD passed | failed | error |", "|---|---|---|---|---|---|"]
    for target in results.targets:
        name = target["name"]
        mine = [r for r in results.results if r.target == name]
        must = [r for r in mine if r.level == "MUST" and r.status != "skipped"]
        should = [r for r in mine if r.level == "SHOULD" and r.status != "skipped"]
        lines.append(
            f"| {name} | {target['vendor']} | {sum(r.status == 'passed' for r in must)}/{len(must)} | "
            f"{sum(r.status == 'passed' for r in should)}/{len(should)} | "
            f"{sum(r.status == 'failed' for r in mine)} | {sum(r.status == 'error' for r in mine)} |"
        )
    problems = _ordered_problems(results)
    if problems:
        lines += ["", "## Problems (MUST first)", ""]
        for result in problems:
            known = gate.outcome_of(result.target, result.requirement, results.run_id) if gate else None
            excused = known is not None and known.outcome == "expected"
            excuse = f" (known failure: {_one_line(known.expectation.reason, 100)})" if known and excused else ""
            lines.append(
                f"- **{result.status} {result.level} `{result.requirement}`** on {result.target}{excuse}: "
                f"{_one_line(result.message)}"
            )
            if result.reproduction:
                lines.append(f"  - reproduce: `{result.reproduction}`")
    if results.leaks:
        lines += ["", "## Leaked resources", ""]
        lines += [f"- {leak['target']}: `{leak['id']}` ({leak.get('reason', '')})" for leak in results.leaks]
    return "\n".join(lines) + "\n"
