"""Section "selftest": wall time of ``conformance selftest`` (quick profile) and, per fault, the time to detect it.

The self-test runs the suite once per injected fault and prints one line per run with its seconds; that run's
time is the time until the fault was detected (its verdict is only known when the run ends).
"""

from __future__ import annotations

import re
import shutil
import sys
import tempfile
from pathlib import Path

from benchmarks.options import Options
from benchmarks.procs import BenchError, run_measured
from benchmarks.stats import Row, figure

SECTION = "selftest"
SLOWEST_SHOWN = 5
_LINE = re.compile(r"^(\S+)\s+(\S+)\s+(ok|MISSED|FALSE POSITIVE)\s+([\d.]+)s\b")
_TOTAL = re.compile(r"detected (\d+)/(\d+) faults")
_SCORE = re.compile(r"^mutation score (\S+): (\d+)/(\d+) killed", re.M)


def parse(stdout: str) -> tuple[dict[tuple[str, str], tuple[str, float]], tuple[int, int]]:
    """Per (vendor, fault or "faithful"): (verdict, seconds); and (detected, total) faults."""
    lines: dict[tuple[str, str], tuple[str, float]] = {}
    for line in stdout.splitlines():
        found = _LINE.match(line)
        if found:
            lines[(found.group(1), found.group(2))] = (found.group(3), float(found.group(4)))
    total = _TOTAL.search(stdout)
    return lines, ((int(total.group(1)), int(total.group(2))) if total else (0, 0))


def run(opts: Options, work: Path) -> tuple[list[Row], list[str]]:
    """Run the self-test ``repeat`` times; one row for the whole, one per fault (the slowest shown in the table)."""
    vendor_flags = [f for v in opts.selftest_vendors for f in ("--vendor", v)]
    walls: list[float] = []
    peaks: list[float] = []
    per_case: dict[tuple[str, str], list[float]] = {}
    verdicts: dict[tuple[str, str], set[str]] = {}
    detected: list[tuple[int, int]] = []
    for _ in range(opts.repeat):
        report = Path(tempfile.mkdtemp(prefix="selftest-", dir=work))
        argv = [sys.executable, "-m", "conformance", "selftest", "--profile", "quick", "--seed", str(opts.seed)]
        measured = run_measured([*argv, *vendor_flags, "--report-dir", str(report)])
        shutil.rmtree(report, ignore_errors=True)
        lines, totals = parse(measured.stdout)
        if not lines:
            raise BenchError(f"selftest printed no result lines (exit {measured.code}): {measured.stderr[-300:]}")
        walls.append(measured.seconds)
        peaks.append(measured.peak_mib)
        detected.append(totals)
        for key, (verdict, seconds) in lines.items():
            per_case.setdefault(key, []).append(seconds)
            verdicts.setdefault(key, set()).add(verdict)
    faults = {k: v for k, v in per_case.items() if k[1] != "faithful"}
    fault_medians = [figure("s", v).median for v in faults.values()]
    whole = Row(SECTION, "selftest (quick profile)")
    whole.figures = {
        "wall_s": figure("s", walls),
        "peak_mib": figure("MiB", peaks),
        "faults": figure("count", [t for _, t in detected]),
        "detected": figure("count", [d for d, _ in detected]),
        "fault_s_median": figure("s", [figure("s", fault_medians).median] if fault_medians else []),
        "fault_s_max": figure("s", [max(fault_medians)] if fault_medians else []),
    }
    if opts.selftest_vendors:
        whole.info["vendors"] = list(opts.selftest_vendors)
    rows = [whole]
    slowest = sorted(per_case, key=lambda k: figure("s", per_case[k]).median, reverse=True)[:SLOWEST_SHOWN]
    for key in sorted(per_case):
        row = Row(SECTION, f"{key[0]} {key[1]}", {"detect_s": figure("s", per_case[key])})
        row.info = {"vendor": key[0], "fault": key[1], "verdicts": sorted(verdicts[key]), "in_table": key in slowest}
        rows.append(row)
    notes = [f"per-fault rows: the {SLOWEST_SHOWN} slowest are in the table, all are in bench.json"]
    if opts.quick:
        return rows, notes
    report = Path(tempfile.mkdtemp(prefix="selftest-mutants-", dir=work))
    argv = [
        sys.executable,
        "-m",
        "conformance",
        "selftest",
        "--mutants",
        "--profile",
        "quick",
        "--seed",
        str(opts.seed),
    ]
    mutants = run_measured([*argv, *vendor_flags, "--report-dir", str(report)], timeout=3600)
    shutil.rmtree(report, ignore_errors=True)
    scores = {m.group(1): (int(m.group(2)), int(m.group(3))) for m in _SCORE.finditer(mutants.stdout)}
    if not scores:
        raise BenchError(f"selftest --mutants printed no score (exit {mutants.code}): {mutants.stderr[-300:]}")
    killed = sum(k for k, _ in scores.values())
    total = sum(n for _, n in scores.values())
    mutant_row = Row(SECTION, "selftest --mutants (quick profile)", info={"scores": scores})
    mutant_row.figures = {
        "wall_s": figure("s", [mutants.seconds]),
        "peak_mib": figure("MiB", [mutants.peak_mib]),
        "faults": figure("count", [total]),
        "detected": figure("count", [killed]),
    }
    both = Row(SECTION, "self-test: faults, quirks and mutants", info={"whole": True})
    both.figures = {"wall_s": figure("s", [whole.figures["wall_s"].median + mutants.seconds])}
    notes.append("mutants: one run; 'faults' and 'detected' are mutants and killed; the last row adds both wall times")
    return [whole, mutant_row, both, *rows[1:]], notes
