"""Human summaries of a run: a console table and summary.md (fits a CI step summary)."""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from conformance.exchange import curl_command
from conformance.reports.inputs import ReportInput
from conformance.results import RequirementResult, RunResults, incomplete_reasons

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


def _target_of(results: RunResults, name: str) -> dict[str, Any]:
    return next((t for t in results.targets if t.get("name") == name), {})


def _command_of(exchange: Mapping[str, Any], token_env: str | None) -> str:
    request = exchange.get("request")
    if isinstance(request, Mapping) and request.get("method") and request.get("url"):
        headers = request.get("headers") or {}
        body = request.get("body")
        return curl_command(
            str(request["method"]),
            str(request["url"]),
            {str(k): str(v) for k, v in headers.items()} if isinstance(headers, Mapping) else {},
            None if body is None else str(body),
            token_env=token_env,
            credential=str(exchange.get("credential") or ""),
        )
    return str(exchange.get("curl") or "")


def mock_command(target: Mapping[str, Any], exchanges: list[dict[str, Any]]) -> str:
    """The ``conformance mock`` command that brings an embedded target's server back (same port, faults, seeds)."""
    parts = ["conformance", "mock", "--vendor", shlex.quote(str(target.get("vendor", "")))]
    port = urlsplit(str(target.get("base_url", ""))).port
    if port:
        parts += ["--port", str(port)]
    token_env = str(target.get("token_env") or "")
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", token_env):
        parts += ["--token", f'"${token_env}"']
    for fault in target.get("faults") or []:
        parts += ["--fault", shlex.quote(str(fault))]
    if target.get("delete_delay"):
        parts += ["--delete-delay", str(target["delete_delay"])]
    urls = " ".join(str((x.get("request") or {}).get("url", "")) for x in exchanges)
    for seed in target.get("disposable_ids") or []:
        if _names(urls, str(seed)):
            parts += ["--seed-id", shlex.quote(str(seed))]
    return " ".join(parts)


def _names(urls: str, seed: str) -> bool:
    """Whether ``/seed`` occurs in ``urls`` as a whole path segment (not followed by a word character, . or -).

    A plain search, not a regex per id: an embedded delete-only target has 400 seeded ids, and 400 distinct
    patterns per reproduced row overflow ``re``'s cache (recompiled every time: ~40 ms a row)."""
    needle = "/" + seed
    start = urls.find(needle)
    while start != -1:
        after = start + len(needle)
        if after == len(urls) or not (urls[after].isalnum() or urls[after] in "_.-"):
            return True
        start = urls.find(needle, start + 1)
    return False


def reproduction_lines(result: RequirementResult, target: Mapping[str, Any]) -> list[str]:
    """Markdown lines that reproduce a result: the mock of an embedded target, then every exchange as curl."""
    exchanges = result.reproduction_exchanges()
    token_env = str(target.get("token_env") or "") or None
    commands = [c for c in (_command_of(x, token_env) for x in exchanges) if c]
    if not commands:
        return []
    mock = mock_command(target, exchanges) if target.get("embedded") else ""
    if len(commands) == 1 and not mock and "`" not in commands[0]:
        return [f"  - reproduce: `{commands[0]}`"]
    lines = []
    if mock:
        lines.append(f"  - start the same mock: `{mock}`")
    fence = "`" * max(3, 1 + max(len(run) for c in commands for run in re.findall(r"`+", c) or [""]))
    noun = "1 request" if len(commands) == 1 else f"{len(commands)} requests, in order"
    lines += [f"  - reproduce ({noun}):", "", f"    {fence}sh", *[f"    {c}" for c in commands], f"    {fence}", ""]
    return lines


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
    run_of = {run.run_id: run for run in results}
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
            lines += reproduction_lines(result, _target_of(run_of[comparison.run_id], result.target))
        lines.append("")
    fixed = gate.changed("fixed")
    if fixed:
        lines += [f"## Fixed since {since}", ""]
        lines += [f"- {c.level} `{c.requirement}` on {c.target}" for c in fixed] + [""]
    if gate.baseline_run_id is not None and not regressions:
        still = len(gate.changed("still-failing"))
        lines += [f"No regression since {since} ({len(fixed)} fixed, {still} still failing).", ""]
    lines.append(f"Gate `--fail-on {gate.fail_on}`: **{gate.verdict}** (exit {int(gate.exit_code)})")
    lines += _incomplete_lines(gate.incomplete, gate.allow_incomplete)
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


def _incomplete_lines(reasons: list[str], allowed: bool) -> list[str]:
    """INCOMPLETE: skipped MUST rows are not a pass; one line per cause, naming the option that would run them."""
    if not reasons:
        return []
    how = "allowed by --allow-incomplete" if allowed else "not a pass; --allow-incomplete accepts a partial run"
    return [f"- INCOMPLETE ({how}): {_one_line(reason, 300)}" for reason in reasons] + [""]


def summary_markdown(results: RunResults, regressions: list[str] | None = None, gate: Gate | None = None) -> str:
    """summary.md: regressions first (with a gate), then counts and failed MUST requirements with reproductions."""
    counts = results.counts()
    must_failed = results.failed("MUST")
    if gate is not None:
        lines = gate_markdown(gate, [results], f"Conformance run {results.run_id}")
    else:
        not_judged = int(results.summary().get("not_judged", 0))
        verdict = "FAIL" if must_failed or results.leaks else str(results.summary()["verdict"])
        if verdict != "FAIL" and not_judged:
            verdict += f" ({not_judged} not judged)"
        lines = [f"# Conformance run {results.run_id}: {verdict}", ""]
        lines += _incomplete_lines(incomplete_reasons(results.results), False)
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
            lines += reproduction_lines(result, _target_of(results, result.target))
    if results.leaks:
        lines += ["", "## Leaked resources", ""]
        lines += [f"- {leak['target']}: `{leak['id']}` ({leak.get('reason', '')})" for leak in results.leaks]
    return "\n".join(lines) + "\n"


def report_markdown(runs: list[tuple[Path, RunResults]], labels: list[str], gate: Gate | None, title: str) -> str:
    """summary.md of ``conformance report``: the gate and regressions first, then a score row per target and run."""
    results = [r for _, r in runs]
    if gate is not None:
        lines = gate_markdown(gate, results, title)
    else:
        failing = any(r.failed("MUST") or r.leaks for r in results)
        lines = [f"# {title}: {'FAIL' if failing else 'PASS'}", ""]
    lines += ["## Scores (skipped excluded)", "", "| target | vendor | run | faults | MUST | SHOULD | failed | error |"]
    lines.append("|---|---|---|---|---|---|---|---|")
    for index, (path, run) in enumerate(runs):
        label = labels[index] if index < len(labels) else (path.parent if path.name == "results.json" else path).name
        for target in run.targets:
            mine = [r for r in run.results if r.target == target.get("name")]
            score = {
                level: f"{sum(r.status == 'passed' for r in judged)}/{len(judged)}"
                for level in ("MUST", "SHOULD")
                if (judged := [r for r in mine if r.level == level and r.status != "skipped"]) is not None
            }
            lines.append(
                f"| {_cell(target.get('name'))} | {_cell(target.get('vendor'))} | {_cell(label)} | "
                f"{_cell(', '.join(map(str, target.get('faults') or [])) or '-')} | {score['MUST']} | "
                f"{score['SHOULD']} | {sum(r.status == 'failed' for r in mine)} | "
                f"{sum(r.status == 'error' for r in mine)} |"
            )
    return "\n".join(lines) + "\n"


def _cell(value: object) -> str:
    return " ".join(str(value).split()).replace("|", "\\|")


def write_summary(report: ReportInput) -> list[Path]:
    """summary.md of one run (led by sdk-gate's verdict when given), or of ``conformance report``'s runs."""
    path = report.report_dir / "summary.md"
    if report.title:
        text = report_markdown(report.runs, report.labels, report.gate, report.title)
    else:
        text = summary_markdown(report.results, gate=report.gate)
        if report.lead:
            text = "\n".join(report.lead) + "\n\n" + text
    report.report_dir.mkdir(parents=True, exist_ok=True)
    path.write_text(report.redactor().text(text), encoding="utf-8")
    return [path]
