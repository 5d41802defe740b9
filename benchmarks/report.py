"""Progress lines, the Markdown tables of a benchmark run, and its targets (met or missed)."""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from typing import Any

from benchmarks.stats import Figure, Row

# Per section: (column header, figure key, decimals); the first column is the row's name.
COLUMNS: dict[str, list[tuple[str, str, int]]] = {
    "mock": [
        ("req/s", "rps", 0),
        ("p50 ms", "p50_ms", 2),
        ("p99 ms", "p99_ms", 2),
        ("errors", "errors", 0),
        ("x Prism", "x_prism", 2),
        ("x ceiling", "x_ceiling", 2),
        ("load", "load", 1),
    ],
    "suite": [
        ("wall s", "wall_s", 1),
        ("exchanges", "exchanges", 0),
        ("exch/s", "exchanges_per_s", 0),
        ("cases", "cases", 0),
        ("cases/s", "cases_per_s", 0),
        ("peak MiB", "peak_mib", 0),
        ("ms/exchange", "ms_per_exchange", 1),
        ("fuzz ms/case", "fuzz_ms_per_case", 1),
        ("x schemathesis", "x_schemathesis_per_case", 2),
        ("fuzz x st", "x_schemathesis_fuzz_per_case", 2),
    ],
    "selftest": [
        ("wall s", "wall_s", 1),
        ("detect s", "detect_s", 1),
        ("peak MiB", "peak_mib", 0),
        ("detected", "detected", 0),
        ("faults", "faults", 0),
        ("median fault s", "fault_s_median", 1),
        ("max fault s", "fault_s_max", 1),
    ],
    "growth": [
        ("wall s", "wall_s", 1),
        ("x first", "wall_vs_first", 2),
        ("exchanges", "exchanges", 0),
        ("exch/s", "exchanges_per_s", 0),
        ("marginal ms/exch", "marginal_ms_per_exchange", 1),
        ("cases", "cases", 0),
        ("peak MiB", "peak_mib", 0),
        ("tree MiB", "tree_peak_mib", 0),
        ("s/target", "wall_per_target_s", 1),
    ],
    "latency": [
        ("wall s", "wall_s", 1),
        ("exchanges", "exchanges", 0),
        ("added s", "added_s", 1),
        ("added / (exch x RTT)", "added_vs_sequential", 2),
    ],
    "overhead": [
        ("conformance s", "ours_s", 2),
        ("st run s", "st_s", 2),
        ("x st (wall)", "x_st", 2),
        ("x st (CPU)", "x_st_cpu", 2),
    ],
    "servers": [
        ("req/s", "rps", 0),
        ("p50 ms", "p50_ms", 2),
        ("p99 ms", "p99_ms", 2),
        ("errors", "errors", 0),
        ("x uvicorn", "x_uvicorn", 2),
    ],
}
TITLES = {
    "mock": "Mock throughput and latency (wrk, 2 threads x 16 connections)",
    "suite": "Suite speed (embedded mocks) beside the plain schemathesis CLI",
    "selftest": "Self-test (quick profile): wall time, and the slowest faults to detect",
    "growth": "Growth with examples and with targets at once",
    "servers": "Faithful mocks under uvicorn and granian (wrk, 2 threads x 16 connections)",
    "latency": "Quick profile against a live target behind the latency proxy (0 and 100 ms RTT)",
    "overhead": "Per run against a local correct server: conformance run beside st run (pairs)",
}
_STARTED = time.monotonic()
MOCK_TARGETS = {"faithful": 8.0, "validating": 4.0}
"""The brief's (issue #16) least ratio to Prism's best configuration, per mode, on each of the four requests."""
MOCK_P99_MS = 5.0


def say(message: str) -> None:
    """One progress line on stderr, with the seconds since the benchmark started."""
    print(f"[bench {time.monotonic() - _STARTED:7.1f}s] {message}", file=sys.stderr, flush=True)


def cell(value: Figure | None, decimals: int) -> str:
    """``median`` and, when runs differ, ``(min–max)``."""
    if value is None or not value.samples:
        return "-"
    text = f"{value.median:,.{decimals}f}"
    if len(value.samples) > 1 and f"{value.min:.{decimals}f}" != f"{value.max:.{decimals}f}":
        text += f" ({value.min:,.{decimals}f}–{value.max:,.{decimals}f})"
    return text


def _label(row: Row) -> str:
    mode = row.info.get("mode")
    server = row.info.get("server")
    if mode and server and row.section == "mock":
        return f"{row.name} ({mode}, {server})"
    return f"{row.name} ({mode})" if mode else row.name


def table(section: str, rows: Sequence[Row]) -> str:
    """A Markdown table of the section's rows (columns without any figure are left out)."""
    shown = [r for r in rows if r.info.get("in_table", True)]
    columns = [c for c in COLUMNS[section] if any(c[1] in r.figures for r in shown)]
    lines = ["| " + " | ".join(["what", *[c[0] for c in columns]]) + " |"]
    lines.append("|" + "---|" * (len(columns) + 1))
    for row in shown:
        cells = [cell(row.figures.get(key), decimals) for _, key, decimals in columns]
        lines.append("| " + " | ".join([_label(row), *cells]) + " |")
    return "\n".join(lines)


def render(sections: dict[str, dict[str, Any]], rows: dict[str, list[Row]], targets: list[dict[str, Any]]) -> str:
    """Every section's title, notes and table, then the targets of the brief."""
    parts: list[str] = []
    for name, section in sections.items():
        parts.append(f"### {TITLES.get(name, name)}\n")
        parts += [f"- {note}" for note in section.get("notes", [])]
        if rows.get(name):
            parts.append("\n" + table(name, rows[name]) + "\n")
        else:
            parts.append("")
    if targets:
        parts.append("### Targets\n")
        parts.append("| target | measured | limit | met |")
        parts.append("|---|---|---|---|")
        parts += [
            f"| {t['target']} | {t['measured']} | {t['limit']} | {'yes' if t['met'] else 'NO'} |" for t in targets
        ]
    return "\n".join(parts)


def _find(rows: Sequence[Row], name: str, mode: str | None = None) -> Row | None:
    return next((r for r in rows if r.name == name and (mode is None or r.info.get("mode") == mode)), None)


def evaluate_targets(rows: dict[str, list[Row]]) -> list[dict[str, Any]]:
    """The brief's targets against the measured medians: each with what was measured, the limit, met or not."""
    out: list[dict[str, Any]] = []
    for row in rows.get("mock", []):
        mode = row.info.get("mode")
        if mode in MOCK_TARGETS and "x_prism" in row.figures:
            times = row.figures["x_prism"].median
            p99 = row.figures["p99_ms"].median
            least = MOCK_TARGETS[mode]
            out.append(
                {
                    "target": f"mock {_label(row)}: >= {least:g}x Prism and p99 < {MOCK_P99_MS:g} ms",
                    "measured": f"{times:.2f}x Prism, p99 {p99:.2f} ms",
                    "limit": f">= {least:g}x, < {MOCK_P99_MS:g} ms",
                    "met": times >= least and p99 < MOCK_P99_MS,
                }
            )
    whole = _find(rows.get("suite", []), "all vendors (embedded default) quick")
    if whole is not None:
        wall = whole.figures["wall_s"].median
        out.append(
            {"target": "quick profile, all vendors, embedded", "measured": f"{wall:.1f} s", "limit": "<= 30 s",
             "met": wall <= 30}
        )  # fmt: skip
    for row in rows.get("suite", []):
        if "x_schemathesis_per_case" in row.figures:
            times = row.figures["x_schemathesis_per_case"].median
            out.append(
                {"target": f"suite overhead per case, {row.name}", "measured": f"{times:.2f}x schemathesis",
                 "limit": "<= 1.2x", "met": times <= 1.2}
            )  # fmt: skip
    for row in rows.get("latency", []):
        limit = row.info.get("target_s")
        if limit is not None:
            wall = row.figures["wall_s"].median
            same = row.info.get("verdicts_identical")
            out.append(
                {"target": f"{row.name}: wall time, verdicts as at 0 ms", "limit": f"<= {limit:g} s, identical",
                 "measured": f"{wall:.1f} s, verdicts {'identical' if same else 'DIFFER'}",
                 "met": wall <= limit and bool(same)}
            )  # fmt: skip
    for row in rows.get("overhead", []):
        times = row.figures["x_st"].median
        out.append(
            {"target": f"{row.name} (median of pairs)", "measured": f"{times:.2f}x st run "
             f"(CPU {row.figures['x_st_cpu'].median:.2f}x)", "limit": "<= 1.0x", "met": times <= 1.0}
        )  # fmt: skip
    for row in rows.get("selftest", []):
        if row.info.get("whole"):
            wall = row.figures["wall_s"].median
            out.append(
                {"target": f"{row.name}: wall time", "measured": f"{wall:.1f} s", "limit": "<= 120 s",
                 "met": wall <= 120}
            )  # fmt: skip
    return out
