"""``conformance report RUN_DIR [RUN_DIR …] --out DIR``: the vendor-compatibility matrix of several runs, gated."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from conformance.errors import ExitCode, output_dir, text_file


def add_parser(subparsers: Any) -> None:
    """Add the ``report`` subcommand."""
    parser = subparsers.add_parser(
        "report",
        help="merge run directories into the vendor-compatibility matrix (matrix.html, matrix.md, matrix.json)",
        description="Merge the results of several runs (one column per target and run) into matrix.html, matrix.md "
        "and matrix.json, compare them with a baseline, apply expectations, and gate.",
    )
    parser.add_argument("runs", nargs="+", type=Path, metavar="RUN_DIR", help="a run directory (or its results.json)")
    parser.add_argument("--out", type=output_dir("--out"), required=True, help="where the matrix goes")
    parser.add_argument(
        "--baseline",
        type=text_file("--baseline"),
        action="append",
        default=[],
        metavar="RESULTS_JSON",
        help="previous results.json",
    )
    parser.add_argument(
        "--expectations",
        type=text_file("--expectations"),
        action="append",
        default=[],
        metavar="FILE",
        help="known failures (YAML/TOML)",
    )
    parser.add_argument("--fail-on", choices=("must", "should", "regression"), default="must", help="default must")
    parser.add_argument(
        "--label",
        action="append",
        default=[],
        metavar="NAME",
        help="the column label of each RUN_DIR, in their order (default: each run directory's name)",
    )
    parser.set_defaults(handler=run_report)


def run_report(args: argparse.Namespace) -> ExitCode:
    """Write the matrix and the gated summary; the exit code is the gate's."""
    from conformance import gating
    from conformance.errors import UsageError
    from conformance.reports.matrix.model import build_matrix, distinct_runs
    from conformance.reports.writers import write_run_reports
    from conformance.results import load_results

    if args.label and len(args.label) != len(args.runs):
        raise UsageError(f"--label: {len(args.label)} label(s) for {len(args.runs)} run(s); give one label per RUN_DIR")
    inputs = gating.load_inputs(fail_on=args.fail_on, baseline=args.baseline, expectations=args.expectations)
    loaded = [(path, load_results(path, validate=True)) for path in args.runs]
    labelled = distinct_runs(loaded, args.label)  # a run given twice is shown (and gated) once
    runs = [(path, results) for path, results, _ in labelled]
    labels = [label for _, _, label in labelled]
    gate = gating.evaluate([results for _, results in runs], inputs)
    title = f"Conformance report of {len(runs)} run(s)"
    write_run_reports(runs, args.out, gate=gate, formats=("matrix", "summary"), labels=labels, title=title)
    matrix = build_matrix(runs, gate, labels)
    for column in matrix.columns:
        print(f"{column.label:<40} MUST {column.score('MUST')}  SHOULD {column.score('SHOULD')}")
    for line in gate.notices()[:12]:
        print(f"  {line[:200]}")
    for line in gate.blocking[:8]:
        print(f"  BLOCKING {line[:200]}")
    print(
        f"matrix: {args.out / 'matrix.html'}  gate --fail-on {gate.fail_on}: {gate.verdict}  exit {int(gate.exit_code)}"
    )
    return gate.exit_code
