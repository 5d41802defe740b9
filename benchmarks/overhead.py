"""Start-up and per-run overhead: ``conformance run --vendor V`` beside plain ``st run``, same spec, same server.

Run as ``python -m benchmarks.overhead [--vendor baseten] [--pairs 5] [--package-root DIR ...]``: one reference
mock (``conformance mock``, seeded ids, the three tokens) in a process of its own; then, in pairs, the suite's quick
profile against it as a live target (every token given, so every row is judged and a correct server exits 0) and
the schemathesis CLI (fuzzing phase, the profile's fuzz examples, the token header) against the same URL. Prints each
pair's wall and CPU times and ratio, the medians, and the load average beside every pair (the machine may be shared).

Like with like: the order inside a pair alternates (the first command of a pair is not always the one that pays for
a cold page cache or a neighbour's burst), and the package under test is byte-compiled first, as a wheel installed
by pip is (schemathesis in site-packages is; an editable checkout under ``PYTHONDONTWRITEBYTECODE=1`` would
otherwise compile about 70 of its modules from source at every run). With ``--package-root`` given more than once
(a ``git archive`` of another commit, say) every root runs in each pair, interleaved: the fair before/after figure
on a machine whose load moves. ``--marks N`` then runs each root N more times under ``benchmarks/startup_marks.py``
and prints where the fixed cost goes, phase by phase (medians).
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.latency import RESTRICTED, RESTRICTED_ENV, TOKEN, TOKEN_ENV, _mock_argv
from benchmarks.options import Options
from benchmarks.procs import ROOT, BenchError, Measured, free_port, run_measured, start_server
from benchmarks.report import say
from benchmarks.stats import Row, figure
from benchmarks.suite_speed import ST_COMMAND, ST_FLAGS
from conformance.catalog.loader import load_vendor
from conformance.catalog.profiles import get_profile

SECTION = "overhead"
IDS_PER_RUN = 40
OTHER_ENV = "CONFORMANCE_BENCH_OTHER"
OTHER = "bench-other"


def byte_compile(root: Path) -> None:
    """Write the bytecode of ``root``'s package (as pip does on install), so no run compiles it from source."""
    compileall.compile_dir(str(root / "conformance"), quiet=1, workers=1)


def run_argv(vendor: str, url: str, ids: Sequence[str], seed: int, report: Path) -> list[str]:
    """The ``conformance run`` of one pair: the quick profile, live, every token, destructive with seeded ids."""
    run = [sys.executable, "-m", "conformance", "run", "--vendor", vendor, "--base-url", url]
    run += ["--token-env", TOKEN_ENV, "--restricted-token-env", RESTRICTED_ENV, "--other-token-env", OTHER_ENV]
    run += ["--allow-destructive", *[a for i in ids for a in ("--disposable-id", i)]]
    return [*run, "--profile", "quick", "--seed", str(seed), "--report-dir", str(report)]


@dataclass
class Pairs:
    """What the pairs measured: per root, our runs; the peer's runs; how many of ours did not exit 0."""

    roots: list[Path]
    ours: dict[Path, list[Measured]]
    peers: list[Measured]
    bad: int = 0
    breakdown: dict[Path, list[dict[str, Any]]] = field(default_factory=dict)

    def ratios(self, root: Path, cpu: bool = False) -> list[float]:
        """Ours / the peer's, pair by pair (wall time, or CPU time)."""
        if cpu:
            return [m.cpu_seconds / p.cpu_seconds for m, p in zip(self.ours[root], self.peers, strict=True)]
        return [m.seconds / p.seconds for m, p in zip(self.ours[root], self.peers, strict=True)]


def measure(
    vendor_name: str, pairs: int, seed: int, roots: Sequence[Path], marks: int = 0, *, quiet: bool = False
) -> Pairs:
    """Run the pairs (and the marked runs) against one reference mock started for them."""
    roots = list(roots)
    for tree in roots:
        byte_compile(tree)
    vendor = load_vendor(vendor_name)
    work = Path(tempfile.mkdtemp(prefix="conformance-overhead-"))
    ids = [f"ov-{n}" for n in range(IDS_PER_RUN * (pairs + max(0, marks)) * len(roots))]
    port = free_port()
    mock_argv = [*_mock_argv(vendor_name, port, ids), "--other-token", OTHER]
    mock = start_server("mock", mock_argv, port, work / "mock.log", ready_path="/__mock__/health")
    url = f"http://127.0.0.1:{port}{vendor.server_path}"
    header = f"{vendor.auth.header}: {vendor.auth.scheme} {TOKEN}".replace(":  ", ": ")
    examples = get_profile("quick").fuzz_examples
    env = {TOKEN_ENV: TOKEN, RESTRICTED_ENV: RESTRICTED, OTHER_ENV: OTHER}
    result = Pairs(roots, {r: [] for r in roots}, [])
    used = 0

    def take() -> list[str]:
        nonlocal used
        used += IDS_PER_RUN
        return ids[used - IDS_PER_RUN : used]

    try:
        for n in range(pairs):
            load = os.getloadavg()[0]
            st = [*ST_COMMAND, str(vendor.spec_path), "--url", url, "-n", str(examples), "--seed", str(seed)]
            st += ["-H", header, *ST_FLAGS, "--report-dir", str(work / f"st{n}")]
            order: list[Path | None] = [*roots, None]
            shift = n % len(order)
            for root in order[shift:] + order[:shift]:  # who goes first rotates from pair to pair
                if root is None:
                    result.peers.append(run_measured(st, timeout=300))
                    continue
                report = work / f"run{n}-{len(result.ours[root])}-{roots.index(root)}"
                measured = run_measured(
                    run_argv(vendor_name, url, take(), seed, report), env=env, timeout=300, cwd=root
                )
                result.bad += measured.code != 0
                result.ours[root].append(measured)
            peer = result.peers[-1]
            line = ", ".join(
                f"{_name(r, roots)} {result.ours[r][-1].seconds:.2f}s/{result.ours[r][-1].cpu_seconds:.2f}cpu "
                f"(exit {result.ours[r][-1].code}) x{result.ours[r][-1].seconds / peer.seconds:.2f}"
                for r in roots
            )
            if not quiet:
                print(
                    f"pair {n + 1}: {line}; st {peer.seconds:.2f}s/{peer.cpu_seconds:.2f}cpu (exit {peer.code}); "
                    f"load {load:.2f}",
                    flush=True,
                )
        if marks > 0:
            result.breakdown = {r: _marked_runs(r, marks, vendor_name, seed, url, take, env, work) for r in roots}
    finally:
        mock.stop()
    return result


def run(opts: Options, work: Path) -> tuple[list[Row], list[str]]:
    """Section "overhead": ``conformance run --vendor baseten`` beside ``st run``, 5 pairs (or ``--repeat``)."""
    pairs = max(5, opts.repeat)
    say(f"overhead: baseten, {pairs} pairs of conformance run and st run")
    measured = measure("baseten", pairs, opts.seed, [ROOT], quiet=True)
    if measured.bad:
        raise BenchError(f"{measured.bad} of the conformance runs did not exit 0 against the correct mock")
    row = Row(SECTION, "conformance run --vendor baseten vs st run, live local mock", info={"pairs": pairs})
    row.figures = {
        "ours_s": figure("s", [m.seconds for m in measured.ours[ROOT]]),
        "st_s": figure("s", [m.seconds for m in measured.peers]),
        "x_st": figure("x", measured.ratios(ROOT)),
        "x_st_cpu": figure("x", measured.ratios(ROOT, cpu=True)),
    }
    notes = ["pairs interleaved, order alternating; the package byte-compiled first (as an installed wheel)"]
    return [row], notes


def main(argv: Sequence[str] | None = None) -> int:
    """Measure the pairs and print them; exit 1 when a conformance run did not exit 0."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.overhead")
    parser.add_argument("--vendor", default="baseten")
    parser.add_argument("--pairs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--package-root",
        type=Path,
        action="append",
        default=[],
        help="the source tree whose `conformance` runs (repeatable: each runs in every pair; default this checkout)",
    )
    parser.add_argument("--marks", type=int, default=0, help="then N runs per root with phase marks (the breakdown)")
    args = parser.parse_args(argv)
    pairs = max(1, min(args.pairs, 50))
    roots = [r.resolve() for r in args.package_root] or [ROOT]
    measured = measure(args.vendor, pairs, args.seed, roots, args.marks)
    if measured.breakdown:
        print_breakdown(measured.breakdown, roots)
    for root in roots:
        walls, cpus = measured.ratios(root), measured.ratios(root, cpu=True)
        mine = measured.ours[root]
        print(
            f"median {_name(root, roots)}: conformance {statistics.median(m.seconds for m in mine):.2f}s "
            f"({statistics.median(m.cpu_seconds for m in mine):.2f} cpu), "
            f"st {statistics.median(p.seconds for p in measured.peers):.2f}s "
            f"({statistics.median(p.cpu_seconds for p in measured.peers):.2f} cpu), "
            f"ratio {statistics.median(walls):.2f} (per pair {', '.join(f'{r:.2f}' for r in walls)}), "
            f"cpu ratio {statistics.median(cpus):.2f}"
        )
    print(f"load at end {os.getloadavg()[0]:.2f}")
    return 1 if measured.bad else 0


MARKS_SCRIPT = Path(__file__).with_name("startup_marks.py")
# (phase, from mark, to mark): consecutive spans of one run, then two that overlap them
PHASES = (
    ("interpreter and imports", None, "imports done"),
    ("parse, targets, catalog to the first request", "imports done", "first request"),
    ("preflight, base path, sweep, checks' preloads", "first request", "pytest session start"),
    ("pytest configure and collect", "pytest session start", "first judge"),
    ("judging (the rows' requests)", "first judge", "last judge"),
    ("cleanup, results.json, pytest teardown", "last judge", "pytest session end"),
    ("reports (summary, junit, allure)", "reports start", "reports end"),
    ("to exit", "reports end", "exit"),
    ("total", None, "exit"),
    ("  of which: schemathesis import and schema", "schemathesis schema start", "schemathesis schema end"),
    ("  of which: last request to exit", "last request", "exit"),
)


def _marked_runs(
    root: Path,
    marks: int,
    vendor: str,
    seed: int,
    url: str,
    take: Callable[[], list[str]],
    env: dict[str, str],
    work: Path,
) -> list[dict[str, Any]]:
    """``marks`` runs of ``root`` under the marks script; the marks of each."""
    out: list[dict[str, Any]] = []
    for n in range(marks):
        argv = run_argv(vendor, url, take(), seed, work / f"marks-{root.name}-{n}")
        argv = [sys.executable, str(MARKS_SCRIPT), *argv[3:]]  # the script in place of ``-m conformance``
        measured = run_measured(
            argv, env={**env, "PYTHONPATH": str(root), "T_START": repr(time.time())}, timeout=300, cwd=root
        )
        line = next((x for x in measured.stderr.splitlines() if x.startswith("STARTUP-MARKS ")), "")
        if line:
            out.append(json.loads(line.split(" ", 1)[1]))
    return out


def print_breakdown(breakdown: dict[Path, list[dict[str, Any]]], roots: Sequence[Path]) -> None:
    """One row per phase, one column per root: median ms over its marked runs (- when a mark was not reached)."""
    print("| phase (median ms) | " + " | ".join(_name(r, roots) for r in roots) + " |")
    print("|---|" + "---|" * len(roots))
    for phase, start, end in PHASES:
        cells = []
        for root in roots:
            spans = [
                run["marks"][end] - (run["marks"][start] if start else 0.0)
                for run in breakdown[root]
                if end in run["marks"] and (start is None or start in run["marks"])
            ]
            cells.append(f"{statistics.median(spans):.0f}" if spans else "-")
        print(f"| {phase} | " + " | ".join(cells) + " |")
    cells = [
        f"{statistics.median(run['gc']['ms'] for run in breakdown[r]):.0f}" if breakdown[r] else "-" for r in roots
    ]
    print("| garbage collection, all phases | " + " | ".join(cells) + " |")


def _name(root: Path, roots: Sequence[Path]) -> str:
    return root.name if len(roots) > 1 else "conformance"


if __name__ == "__main__":
    raise SystemExit(main())
