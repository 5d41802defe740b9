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
    parser.set_defaults(handler=run_report)


def run_report(args: argparse.Namespace) -> ExitCode:
    """Write the matrix and the gated summary; the exit code is the gate's."""
    from conformance import gating
    from conformance.reports.matrix.model import write_matrix
    from conformance.results import load_results

    inputs = gating.load_inputs(fail_on=args.fail_on, baseline=args.baseline, expectations=args.expectations)
    runs = [(path, load_results(path)) for path in args.runs]
    gate = gating.evaluate([results for _, results in runs], inputs)
    matrix = write_matrix(runs, args.out, gate)
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
