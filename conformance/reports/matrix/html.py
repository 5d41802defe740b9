"""matrix.html: one self-contained page (inline CSS, no external resource), responsive and printable."""

from __future__ import annotations

import base64
import hashlib
import html
from typing import TYPE_CHECKING, Any

from conformance.reports.matrix.model import LEVELS, WORDS, Cell, Column, Matrix, cell_word
from conformance.results import RequirementResult

if TYPE_CHECKING:
    from conformance.gating.gate import Change

MAX_BODY = 2000

CSS = (
    """
:root{--pass:#116329;--pass-bg:#d2f4d9;--fail:#a40e26;--fail-bg:#ffd8d3;--error:#7d4e00;--error-bg:#ffe8a3;
--skip:#4a525b;--skip-bg:#e8ebef;--flaky:#6639ba;--flaky-bg:#ecdfff;--line:#d0d7de;--muted:#57606a}
*{box-sizing:border-box}
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",Arial,sans-serif;margin:0;color:#1f2328;
overflow-wrap:break-word}
main{max-width:1180px;margin:0 auto;padding:16px}
h1{font-size:1.55em;margin:.1em 0 .2em}h2{font-size:1.25em;margin:1.6em 0 .4em;border-bottom:2px solid var(--line)}
h3{font-size:1.02em;margin:1.1em 0 .3em}
.meta,.muted{color:var(--muted);font-size:.85em}
nav{display:flex;flex-wrap:wrap;gap:4px 14px;font-size:.9em;margin:8px 0}
a{color:#0550ae}
.banner{padding:10px 14px;border-radius:8px;font-weight:600;margin:12px 0;font-size:1.05em}
.banner.PASS{background:var(--pass-bg);color:var(--pass)}.banner.FAIL{background:var(--fail-bg);color:var(--fail)}
.banner.ERROR{background:var(--error-bg);color:var(--error)}
.banner ul{margin:.3em 0 0;padding-left:1.2em;font-weight:400;font-size:.9em}
.scroll{overflow-x:auto;-webkit-overflow-scrolling:touch}
table{border-collapse:collapse;width:100%;margin:4px 0 10px}
th,td{border-bottom:1px solid var(--line);padding:5px 8px;text-align:left;vertical-align:top}
th{overflow-wrap:normal;word-break:normal;hyphens:manual}.nw{white-space:nowrap}
td{overflow-wrap:anywhere}
thead th{background:#f6f8fa;font-size:.85em;position:sticky;top:0}
td.c,th.c{text-align:center;white-space:nowrap}
.st{display:inline-block;min-width:3.6em;text-align:center;border-radius:4px;padding:1px 6px;font-weight:700;
font-size:.82em;text-decoration:none;white-space:nowrap}
.st.passed{background:var(--pass-bg);color:var(--pass)}.st.failed{background:var(--fail-bg);color:var(--fail)}
.st.error{background:var(--error-bg);color:var(--error)}.st.skipped{background:var(--skip-bg);color:var(--skip)}
.st.flaky{background:var(--flaky-bg);color:var(--flaky)}.st.none{color:var(--muted);font-weight:400}
.st.known{background-image:repeating-linear-gradient(135deg,transparent 0 5px,rgba(255,255,255,.55) 5px 10px)}
.tag{display:inline-block;font-size:.7em;font-weight:700;border-radius:3px;padding:0 4px;margin-left:3px}
.tag.new{background:var(--fail);color:#fff}.tag.fixed{background:var(--pass);color:#fff}
.tag.known{background:var(--skip-bg);color:var(--skip)}
.lvl{font-size:.68em;font-weight:700;border:1px solid currentColor;border-radius:3px;padding:0 3px;margin-left:4px}
.lvl.MUST{color:var(--fail)}.lvl.SHOULD{color:var(--muted)}
.req code{font-size:.82em;font-weight:600}.rule{color:var(--muted);font-size:.82em}
tr.problem td{background:#fff6f5}
.bar{height:7px;background:var(--fail);border-radius:4px;overflow:hidden;min-width:60px;margin-top:3px}
.bar span{display:block;height:100%;background:var(--pass)}.bar.none{background:var(--skip-bg)}
"""
    + "".join(f".w{i}{{width:{i}%}}" for i in range(0, 101, 5))
    + """
.score{font-weight:700;font-variant-numeric:tabular-nums}
.colhead{font-weight:700}.colhead small{display:block;font-weight:400;color:var(--muted)}
.fault{color:var(--fail);font-weight:600}
details{border:1px solid var(--line);border-radius:6px;margin:6px 0;padding:4px 10px}
details>summary{cursor:pointer}
:target{outline:3px solid #0969da;outline-offset:2px}
pre{white-space:pre-wrap;word-break:break-all;font-size:.76em;background:#f6f8fa;padding:6px;border-radius:4px;
max-height:22em;overflow:auto;margin:4px 0}
.legend{display:flex;flex-wrap:wrap;gap:6px 12px;font-size:.82em;align-items:center}
ul.obs{margin:.2em 0;padding-left:1.1em}
@media (max-width:700px){body{font-size:14px}main{padding:8px}th,td{padding:4px 5px}.rule{font-size:.76em}
.hide-sm{display:none}.st{min-width:2.8em;padding:1px 3px}h1{font-size:1.3em}
th.c{white-space:normal}.colhead{font-size:.78em}.req code{overflow-wrap:anywhere}
nav{gap:2px 10px}.banner{font-size:.95em;padding:8px 10px}}
@media print{nav,.noprint{display:none}details:not([open]){display:none}.scroll{overflow:visible}
a{color:inherit;text-decoration:none}tr,details{break-inside:avoid}pre{max-height:none}thead th{position:static}
main{max-width:none;padding:0}body{font-size:11px}}
"""
)

# No script at all: problems are open already, and print expands only them (CSS). The style element is allowed by
# its hash, so nothing else (no inline style attribute, no injected element) can style, load or run anything.
STYLE_HASH = base64.b64encode(hashlib.sha256(CSS.encode()).digest()).decode()
CSP = (
    f"default-src 'none'; style-src 'sha256-{STYLE_HASH}'; img-src 'none'; script-src 'none'; "
    "base-uri 'none'; form-action 'none'"
)


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _clip(text: object, limit: int) -> str:
    value = str(text)
    return value if len(value) <= limit else value[:limit] + f"… ({len(value) - limit} more characters)"


def _words(text: object) -> str:
    """Header text that wraps between words only: each word (``blaxel-mock`` too) is kept whole."""
    return " ".join(f'<span class="nw">{_e(word)}</span>' for word in str(text).split())


def _status_badge(cell: Cell | None) -> str:
    if cell is None:
        return '<span class="st none" title="not judged on this target">—</span>'
    known = " known" if cell.known == "expected" else ""
    tags = ""
    if cell.change == "new-failure":
        tags += '<span class="tag new">NEW</span>'
    elif cell.change == "fixed":
        tags += '<span class="tag fixed">fixed</span>'
    if cell.known == "expected":
        tags += '<span class="tag known">known</span>'
    elif cell.known in {"unexpected-pass", "expired"}:
        tags += f'<span class="tag new">{_e(cell.known)}</span>'
    title = _e(f"{cell_word(cell)}: {_clip(cell.message, 300)}" if cell.message else cell_word(cell))
    word = WORDS.get(cell.status, cell.status)
    return f'<a class="st {_e(cell.status)}{known}" href="#{_e(cell.anchor)}" title="{title}">{_e(word)}</a>{tags}'


def _column_head(column: Column) -> str:
    faults = "".join(f'<small class="fault">fault: {_words(f)}</small>' for f in column.faults)
    return (
        f'<div class="colhead">{_words(column.target)}<small>{_words(column.run_label)}</small>{faults}'
        f"<small>MUST {_words(column.score('MUST'))}</small></div>"
    )


def _bar_cells(pct: int) -> str:
    """The passed share in green, the rest in red, each rounded to a 5 % step (no inline style: the CSP allows none)."""
    step = 5 * round(pct / 5)
    if 0 < pct < 100:
        step = min(max(step, 5), 95)  # 39/40 shows some red, 1/40 some green
    return f'<span class="ok w{step}"></span>'


def _bar(passed: int, total: int) -> str:
    if total == 0:
        return '<div class="bar none" role="img" aria-label="nothing judged"><span class="ok w0"></span></div>'
    pct = round(100 * passed / total)
    return f'<div class="bar" role="img" aria-label="{passed} of {total} passed">{_bar_cells(pct)}</div>'


def _banner(matrix: Matrix) -> str:
    if matrix.gate is not None:
        gate = matrix.gate
        items = "".join(f"<li>{_e(line[:220])}</li>" for line in gate.blocking[:12])
        more = f"<li>… and {len(gate.blocking) - 12} more</li>" if len(gate.blocking) > 12 else ""
        head = f"Gate --fail-on {gate.fail_on}: {gate.verdict}"
        known = sum(o.outcome == "expected" for o in gate.outcomes)
        regressions = len(gate.changed("new-failure"))
        head += f" · {regressions} regression(s)" if gate.baseline_run_id is not None else ""
        head += f" · {known} known failure(s), see expectations" if known else ""
        return f'<div class="banner {_e(gate.verdict)}">{_e(head)}<ul>{items}{more}</ul></div>'
    failing = [c for c in matrix.columns if any(r.status == "failed" and r.level == "MUST" for r in c.results.values())]
    verdict = "FAIL" if failing else "PASS"
    text = (
        f"{len(failing)} of {len(matrix.columns)} targets fail a MUST requirement"
        if failing
        else f"all {len(matrix.columns)} targets pass every judged MUST requirement"
    )
    return f'<div class="banner {verdict}">{_e(text)}</div>'


def _legend() -> str:
    items = [("passed", "requirement met"), ("failed", "target broke it"), ("error", "could not be judged")]
    items += [("skipped", "not applicable here"), ("flaky", "did not reproduce")]
    badges = "".join(f'<span><span class="st {s}">{WORDS[s]}</span> {d}</span>' for s, d in items)
    tags = '<span><span class="tag new">NEW</span> new since baseline</span>'
    tags += '<span><span class="tag known">known</span> expected failure</span>'
    return f'<div class="legend">{badges}{tags}</div>'


def _scores(matrix: Matrix) -> str:
    rows = []
    for c in matrix.columns:
        cells = []
        for level in LEVELS:
            passed, total = c.tally(level)
            cells.append(f'<td><span class="score">{passed}/{total}</span>{_bar(passed, total)}</td>')
        faults = ", ".join(c.faults)
        rows.append(
            f"<tr><td><b>{_e(c.target)}</b> <span class='muted'>{_e(c.run_label)}</span>"
            + (f"<br><span class='fault'>fault: {_e(faults)}</span>" if faults else "")
            + f"</td><td class='hide-sm'>{_e(c.vendor)}</td>{''.join(cells)}"
            f"<td class='c'>{c.count('failed')}</td><td class='c'>{c.count('error')}</td>"
            f"<td class='c hide-sm'>{c.count('skipped')}</td></tr>"
        )
    head = (
        "<tr><th>target</th><th class='hide-sm'>vendor</th><th>MUST passed</th><th>SHOULD passed</th>"
        "<th class='c'>failed</th><th class='c'>error</th><th class='c hide-sm'>skipped</th></tr>"
    )
    return (
        '<section id="scores"><h2>Scores per target</h2><p class="muted">passed / judged; skipped requirements are '
        f'not counted.</p><div class="scroll"><table><thead>{head}</thead><tbody>{"".join(rows)}</tbody></table>'
        "</div></section>"
    )


def _single(matrix: Matrix) -> str:
    single = matrix.single_target_failures()
    if not single:
        body = "<p>None: every failure is shared by all targets of its vendor that judged it.</p>"
    else:
        rows = []
        for row, column in single:
            cell = row.cells[column.key]
            passing = [matrix.column(k).label for k, c in row.cells.items() if c.status == "passed"]
            rows.append(
                f"<tr class='problem'><td class='req'><code>{_e(row.requirement)}</code>"
                f"<span class='lvl {_e(row.level)}'>{_e(row.level)}</span><div class='rule'>{_e(row.rule)}</div></td>"
                f"<td>{_status_badge(cell)} <b>{_e(column.label)}</b>"
                + "".join(f"<br><span class='fault'>fault: {_e(f)}</span>" for f in column.faults)
                + f"<div class='rule'>{_e(cell.message[:240])}</div></td>"
                f"<td class='hide-sm'>{_e(', '.join(passing))}</td></tr>"
            )
        body = (
            '<div class="scroll"><table><thead><tr><th>requirement</th><th>fails only on</th>'
            f"<th class='hide-sm'>passes on</th></tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
        )
    return (
        '<section id="single"><h2>Fails on only one target</h2><p class="muted">Target-specific failures: the same '
        f"requirement passes on another target of the same vendor.</p>{body}</section>"
    )


def _gate_sections(matrix: Matrix) -> str:
    gate = matrix.gate
    if gate is None:
        return ""
    parts = []
    if gate.baseline_run_id is not None:
        items = []
        changes: tuple[tuple[Change, str], ...] = (
            ("new-failure", "new failure"),
            ("fixed", "fixed"),
            ("still-failing", "still failing"),
        )
        for change, word in changes:
            for c in gate.changed(change):
                items.append(
                    f"<li><b>{word}</b> {_e(c.level)} <code>{_e(c.requirement)}</code> on {_e(c.target)} "
                    f"(run {_e(c.run_id)}; was {_e(c.before or 'not in baseline')})</li>"
                )
        body = f"<ul>{''.join(items)}</ul>" if items else "<p>No change in failures.</p>"
        parts.append(
            f'<section id="regressions"><h2>Since baseline run {_e(gate.baseline_run_id)}</h2>{body}</section>'
        )
    if gate.outcomes:
        rows = "".join(
            f"<tr><td><code>{_e(o.expectation.requirement)}</code></td><td>{_e(o.target)}</td>"
            f"<td>{_e('/'.join(o.expectation.expected))}</td><td>{_e(o.actual or '-')}</td>"
            f"<td><b>{_e(o.outcome)}</b></td>"
            f"<td>{_e(o.expectation.reason)}</td><td>{_e(o.expectation.expires or '-')}</td></tr>"
            for o in gate.outcomes
        )
        parts.append(
            '<section id="expectations"><h2>Expectations (known failures)</h2><div class="scroll"><table><thead><tr>'
            "<th>requirement</th><th>target</th><th>expected</th><th>actual</th><th>outcome</th><th>reason</th>"
            f"<th>expires</th></tr></thead><tbody>{rows}</tbody></table></div></section>"
        )
    return "".join(parts)


def _vendor_section(matrix: Matrix, vendor: str) -> str:
    columns = matrix.columns_of(vendor)
    head = "<tr><th>requirement</th>" + "".join(f"<th class='c'>{_column_head(c)}</th>" for c in columns) + "</tr>"
    parts = [f'<section id="vendor-{_e(vendor)}"><h2>{_e(vendor)}</h2>']
    for operation in matrix.operations_of(vendor):
        body = []
        for row in matrix.rows_of(vendor, operation):
            cells = [row.cells.get(c.key) for c in columns]
            problem = " class='problem'" if any(c and c.status in {"failed", "error"} for c in cells) else ""
            body.append(
                f"<tr{problem}><td class='req'><code>{_e(row.requirement)}</code>"
                f"<span class='lvl {_e(row.level)}'>{_e(row.level)}</span><div class='rule'>{_e(row.rule)}</div></td>"
                + "".join(f"<td class='c'>{_status_badge(cell)}</td>" for cell in cells)
                + "</tr>"
            )
        parts.append(
            f"<h3>{_e(vendor)} · {_e(operation)}</h3><div class='scroll'><table><thead>{head}</thead>"
            f"<tbody>{''.join(body)}</tbody></table></div>"
        )
    return "".join(parts) + "</section>"


def _semantics(matrix: Matrix) -> str:
    vendors = matrix.vendors()
    aspects = list(dict.fromkeys(a for per in matrix.semantics.values() for a in per))
    rows = []
    for aspect in aspects:
        cells = []
        for vendor in vendors:
            entry: dict[str, Any] = matrix.semantics.get(vendor, {}).get(aspect, {})
            observed = []
            for o in entry.get("observed", []):
                where = "" if o.get("everywhere") else f" <span class='muted'>(on {_e(', '.join(o['columns']))})</span>"
                example = (
                    f"<details><summary>example</summary><pre>{_e(o['example'])}</pre></details>"
                    if o["example"]
                    else ""
                )
                observed.append(f"<li><code>{_e(o['text'])}</code>{where}{example}</li>")
            seen = f"<div class='muted'>observed:</div><ul class='obs'>{''.join(observed)}</ul>" if observed else ""
            cells.append(f"<td>{_e(entry.get('documented', '')) or '<span class=muted>—</span>'}{seen}</td>")
        rows.append(f"<tr><th>{_words(aspect)}</th>{''.join(cells)}</tr>")
    head = "<tr><th>aspect</th>" + "".join(f"<th>{_words(v)}</th>" for v in vendors) + "</tr>"
    return (
        '<section id="semantics"><h2>API semantics side by side</h2><p class="muted">As documented (each vendor\'s '
        "profile) and as observed in this report's evidence.</p><div class='scroll'><table><thead>"
        f"{head}</thead><tbody>{''.join(rows)}</tbody></table></div></section>"
    )


def _exchange(exchange: dict[str, Any]) -> str:
    response = exchange.get("response", {})
    headers = "\n".join(f"{k}: {v}" for k, v in (response.get("headers") or {}).items())
    body = str(response.get("body") or "")
    body = body if len(body) <= MAX_BODY else body[:MAX_BODY] + "\n… (truncated)"
    outcome = response.get("transport_error") or f"HTTP {response.get('status')}"
    note = f"<div class='muted'>{_e(_clip(exchange.get('note', ''), MAX_BODY))}</div>" if exchange.get("note") else ""
    curl = _e(_clip(exchange.get("curl", ""), MAX_BODY * 2))
    head = f"{_e(_clip(outcome, MAX_BODY))}\n{_e(_clip(headers, MAX_BODY))}"
    return f"{note}<pre>{curl}</pre><pre>{head}\n\n{_e(body)}</pre>"


def _evidence_item(column: Column, result: RequirementResult, anchor: str) -> str:
    problem = result.status in {"failed", "error", "flaky"}
    exchanges = result.evidence.get("exchanges") or []
    shown = exchanges if problem else exchanges[:1]
    notes = "".join(f"<li>{_e(n)}</li>" for n in result.evidence.get("notes") or [])
    message = f"<p><b>{_e(_clip(result.message, MAX_BODY * 2))}</b></p>" if result.message else ""
    return (
        f'<details id="{_e(anchor)}"{" open" if problem else ""} class="{"problem" if problem else "ok"}"><summary>'
        f'<span class="st {_e(result.status)}">{_e(WORDS.get(result.status, result.status))}</span> '
        f"<code>{_e(result.requirement)}</code> on {_e(column.label)}</summary>"
        f"<p>{_e(_clip(result.rule, MAX_BODY))}<br><span class='muted'>source: {_e(result.source.get('seed', ''))} "
        f"{_e(result.source.get('field', ''))}; {_e(result.evidence.get('examined', 0))} exchange(s) examined"
        "</span></p>"
        f"{message}{f'<ul>{notes}</ul>' if notes else ''}{''.join(_exchange(x) for x in shown)}</details>"
    )


def _evidence(matrix: Matrix) -> str:
    parts = [
        '<section id="evidence"><h2>Evidence</h2><p class="muted">Credentials are redacted. Problems are open; '
        "passes show their first exchange.</p>"
    ]
    for column in matrix.columns:
        items = "".join(
            _evidence_item(column, result, row.cells[column.key].anchor)
            for row in matrix.rows
            if (result := column.results.get(row.requirement)) is not None and column.key in row.cells
        )
        problems = sum(column.count(s) for s in ("failed", "error", "flaky"))
        note = f"{problems} problem(s), shown open" if problems else "no problem; every pass can be expanded"
        parts.append(f"<h3>{_e(column.label)}</h3><p class='muted'>{note}</p>{items}")
    return "".join(parts) + "</section>"


def _runs(matrix: Matrix) -> str:
    rows = "".join(
        f"<tr><td>{_e(r['label'])}</td><td>{_e(r['run_id'])}</td><td class='hide-sm'>{_e(r['dir'])}</td>"
        f"<td>{_e(r['profile'])}</td>"
        f"<td class='hide-sm'>{_e(r['seed'])}</td><td class='hide-sm'>{_e(r['started'])}</td></tr>"
        for r in matrix.runs
    )
    return (
        "<details class='noprint'><summary>runs</summary><div class='scroll'><table><thead><tr><th>label</th>"
        "<th>run</th>"
        "<th class='hide-sm'>directory</th><th>profile</th><th class='hide-sm'>seed</th><th class='hide-sm'>"
        f"started</th></tr></thead><tbody>{rows}</tbody></table></div></details>"
    )


def matrix_html(matrix: Matrix) -> str:
    """The whole page."""
    vendors = matrix.vendors()
    nav = ['<a href="#scores">scores</a>', '<a href="#single">fails on one target</a>']
    if matrix.gate is not None and matrix.gate.baseline_run_id is not None:
        nav.append('<a href="#regressions">regressions</a>')
    nav += [f'<a href="#vendor-{_e(v)}">{_e(v)}</a>' for v in vendors]
    nav += ['<a href="#semantics">API semantics</a>', '<a href="#evidence">evidence</a>']
    body = (
        "<main><header><h1>Vendor-compatibility matrix</h1>"
        f"<div class='meta'>{len(matrix.columns)} targets from {len(matrix.runs)} run(s) · vendors "
        f"{_e(', '.join(vendors))} · generated {_e(matrix.generated)}</div></header>"
        f"<nav>{''.join(nav)}</nav>{_banner(matrix)}{_legend()}{_runs(matrix)}{_scores(matrix)}{_single(matrix)}"
        f"{_gate_sections(matrix)}{''.join(_vendor_section(matrix, v) for v in vendors)}{_semantics(matrix)}"
        f"{_evidence(matrix)}</main>"
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{_e(CSP)}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="referrer" content="no-referrer">'
        f"<title>Vendor-compatibility matrix</title><style>{CSS}</style></head><body>{body}</body></html>\n"
    )
