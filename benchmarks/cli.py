"""The command line of the benchmarks: run the chosen sections, print their tables, write reports/bench.json."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shlex
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from benchmarks import growth, latency, machine, mock_load, overhead, selftest_speed, server_compare, suite_speed
from benchmarks.options import SECTIONS, Options
from benchmarks.procs import ROOT, BenchError
from benchmarks.report import evaluate_targets, render, say
from benchmarks.stats import Row

RUNNERS: dict[str, Callable[[Options, Path], tuple[list[Row], list[str]]]] = {
    "mock": mock_load.run,
    "suite": suite_speed.run,
    "selftest": selftest_speed.run,
    "growth": growth.run,
    "latency": latency.run,
    "servers": server_compare.run,
    "overhead": overhead.run,
}
QUICK = Options(
    duration=5.0,
    repeat=1,
    warmup=1.0,
    quick=True,
    profiles=("quick",),
    scales=(1, 4),
    target_counts=(1, 2),
    selftest_vendors=("baseten",),
)


def build_parser() -> argparse.ArgumentParser:
    """The benchmark's arguments."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Measure the reference mocks and the suite beside their peers (Prism, schemathesis).",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a smoke run: 5 s per load run, 1 repeat, quick profile only, fewer scales, one vendor's self-test",
    )
    parser.add_argument("--only", action="append", choices=SECTIONS, default=[], help="run only this section")
    parser.add_argument("--repeat", type=int, help="runs per figure (median, min, max); default 3 (1 with --quick)")
    parser.add_argument("--duration", type=float, help="seconds per wrk run; default 30 (5 with --quick)")
    parser.add_argument("--warmup", type=float, help="seconds of wrk warm-up before a server is measured")
    parser.add_argument("--seed", type=int, default=1, help="the suite's seed (default 1)")
    parser.add_argument("--output", type=Path, default=ROOT / "reports" / "bench.json", help="the JSON report")
    parser.add_argument("--keep-work", action="store_true", help="keep the scratch folder (server logs)")
    return parser


def options_from(args: argparse.Namespace) -> Options:
    """The options the arguments ask for."""
    opts = QUICK if args.quick else Options()
    changes: dict[str, Any] = {"sections": tuple(s for s in SECTIONS if not args.only or s in args.only)}
    if args.repeat is not None:
        changes["repeat"] = args.repeat
    if args.duration is not None:
        changes["duration"] = args.duration
    if args.warmup is not None:
        changes["warmup"] = args.warmup
    changes["seed"] = args.seed
    opts = replace(opts, **changes)
    if opts.repeat < 1 or opts.duration < 1 or opts.warmup < 0:
        raise SystemExit("python -m benchmarks: --repeat must be >= 1, --duration >= 1, --warmup >= 0")
    return opts


def main(argv: Sequence[str] | None = None) -> int:
    """Run the sections; exit 0 when every section ran, 1 when one could not be measured."""
    args = build_parser().parse_args(argv)
    opts = options_from(args)
    about = machine.describe()
    work = Path(tempfile.mkdtemp(prefix="conformance-bench-"))
    sections: dict[str, dict[str, Any]] = {}
    rows: dict[str, list[Row]] = {}
    failed = False
    started = dt.datetime.now(dt.UTC)
    try:
        for name in opts.sections:
            say(f"section {name}")
            began = time.perf_counter()
            try:
                section_rows, notes = RUNNERS[name](opts, work)
            except (BenchError, RuntimeError, OSError) as exc:
                failed = True
                section_rows, notes = [], [f"FAILED: {exc}"]
            rows[name] = section_rows
            sections[name] = {
                "notes": notes,
                "seconds": round(time.perf_counter() - began, 1),
                "load_average_after": machine.load_average(),
            }
            say(f"section {name} done in {sections[name]['seconds']:.0f}s")
    finally:
        if args.keep_work:
            say(f"scratch folder kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    targets = evaluate_targets(rows)
    document = {
        "format": "conformance-bench",
        "version": 1,
        "command": "python -m benchmarks " + shlex.join(argv if argv is not None else sys.argv[1:]),
        "started": started.isoformat(timespec="seconds"),
        "finished": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "options": {k: list(v) if isinstance(v, tuple) else v for k, v in vars(opts).items()},
        "machine": about,
        "sections": {
            name: {**section, "rows": [r.as_dict(about) for r in rows.get(name, [])]}
            for name, section in sections.items()
        },
        "targets": targets,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    cores = f"{about['cores']} cores, {about['cpu']}, Python {about['python']}"
    print(f"machine: {cores}; load average at start {about['load_average_at_start']}\n")
    print(render(sections, rows, targets))
    print(f"\nwritten: {args.output}")
    return 1 if failed else 0
