"""Section "suite": the quick and nightly profiles against the embedded mocks, beside the plain schemathesis CLI.

Each run is ``python -m conformance run [--vendor V] --profile P --report-dir TMP --seed S`` in a child process:
wall time, peak memory (largest resident set of the process tree), HTTP exchanges (results.json ``requests``)
and generated cases (schemathesis fuzz cases and state-machine steps, from the evidence notes). The peer is
``schemathesis run`` (fuzzing phase, positive and negative data, the same four checks, no shrinking, one worker,
``-n`` = the profile's fuzz examples) against the same reference mock served in a process of its own; each of
its cases is one HTTP exchange. Per case means per HTTP exchange on both sides (wall time / exchanges); the fuzz
ratio compares only the time our fuzz checks took per fuzz case (same generator on both sides).
"""

from __future__ import annotations

import json
import re
import shutil
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.options import Options
from benchmarks.procs import BenchError, Measured, free_port, python_server_argv, run_measured, start_server
from benchmarks.report import say
from benchmarks.stats import Row, figure, ratio
from conformance.catalog.loader import load_vendor, vendor_names
from conformance.catalog.profiles import get_profile

SECTION = "suite"
ALL = "all"
_FUZZ_NOTE = re.compile(r"^(\d+) generated cases$")
_STEPS_NOTE = re.compile(r"^(\d+) lifecycle steps$")
_ST_CASES = re.compile(r"(\d+) generated")
ST_CHECKS = "not_a_server_error,response_schema_conformance,content_type_conformance,negative_data_rejection"
MOCK_TOKEN = "bench-token"
ST_COMMAND = (sys.executable, "-m", "schemathesis.cli", "run")
ST_FLAGS = (
    *("--phases", "fuzzing", "--mode", "all", "-w", "1", "-c", ST_CHECKS, "--continue-on-failure", "--no-shrink"),
    *("--suppress-health-check", "all", "--warnings", "off"),
)


@dataclass(frozen=True)
class SuiteRun:
    """One ``conformance run``: the process figures and what results.json says about the work done."""

    measured: Measured
    requests: int
    cases: int
    fuzz_cases: int
    fuzz_seconds: float
    exit_code: int


def count_cases(results: Mapping[str, Any]) -> tuple[int, int, float]:
    """(generated cases, fuzz cases, seconds spent in fuzz checks) of a results.json document.

    Generated cases are the schemathesis fuzz cases and the state machine's steps, each probe counted once per
    target and operation although several requirements judge it (their evidence notes say how many).
    """
    fuzz: dict[tuple[str, str], int] = {}
    steps: dict[tuple[str, str], int] = {}
    fuzz_ms = 0.0
    for result in results.get("results", []):
        key = (str(result.get("target")), str(result.get("operation")))
        for note in (result.get("evidence") or {}).get("notes", []):
            found = _FUZZ_NOTE.match(str(note))
            if found is not None:
                fuzz[key] = max(fuzz.get(key, 0), int(found.group(1)))
                fuzz_ms += float(result.get("duration_ms") or 0.0)
            found = _STEPS_NOTE.match(str(note))
            if found is not None:
                steps[key] = max(steps.get(key, 0), int(found.group(1)))
    return sum(fuzz.values()) + sum(steps.values()), sum(fuzz.values()), fuzz_ms / 1000


def run_conformance(
    args: Sequence[str], work: Path, *, env: Mapping[str, str] | None = None, label: str = "run"
) -> SuiteRun:
    """Run ``python -m conformance run ARGS --report-dir <fresh folder>`` and read its results.json."""
    folder = Path(tempfile.mkdtemp(prefix=f"{label}-", dir=work))
    report = folder / "run"  # a folder of its own: live runs sweep the report folder's parent for old ledgers
    say(f"conformance run {' '.join(args)}" + "".join(f" {k}={v}" for k, v in (env or {}).items() if "TOKEN" not in k))
    measured = run_measured([sys.executable, "-m", "conformance", "run", *args, "--report-dir", str(report)], env=env)
    results_path = report / "results.json"
    if not results_path.is_file():
        raise BenchError(
            f"conformance run {' '.join(args)} wrote no results (exit {measured.code}): "
            f"{measured.stderr.strip()[-300:]}"
        )
    results = json.loads(results_path.read_text(encoding="utf-8"))
    cases, fuzz_cases, fuzz_seconds = count_cases(results)
    shutil.rmtree(folder, ignore_errors=True)
    return SuiteRun(measured, int(results.get("requests") or 0), cases, fuzz_cases, fuzz_seconds, measured.code)


def suite_row(name: str, runs: list[SuiteRun], info: dict[str, Any]) -> Row:
    """The figures of repeated runs of one configuration."""
    row = Row(SECTION, name, info=info)
    row.figures = {
        "wall_s": figure("s", [r.measured.seconds for r in runs]),
        "exchanges": figure("count", [r.requests for r in runs]),
        "exchanges_per_s": figure("1/s", [r.requests / r.measured.seconds for r in runs]),
        "cases": figure("count", [r.cases for r in runs]),
        "cases_per_s": figure("1/s", [r.cases / r.measured.seconds for r in runs]),
        "peak_mib": figure("MiB", [r.measured.peak_mib for r in runs]),
        "tree_peak_mib": figure("MiB", [r.measured.tree_peak_mib for r in runs]),
        "ms_per_exchange": figure("ms", [1000 * r.measured.seconds / max(1, r.requests) for r in runs]),
        "fuzz_ms_per_case": figure("ms", [1000 * r.fuzz_seconds / max(1, r.fuzz_cases) for r in runs]),
    }
    codes = sorted({r.exit_code for r in runs})
    row.info["exit_codes"] = codes
    if any(code != 0 for code in codes):
        row.notes.append(f"the run exited {codes} (timing kept; see the verdicts in a normal run)")
    return row


def _schemathesis(vendor_name: str, examples: int, seed: int, work: Path, repeat: int) -> Row:
    """The plain schemathesis CLI against the vendor's reference mock served in its own process."""
    vendor = load_vendor(vendor_name)
    port = free_port()
    argv = python_server_argv("--app", "mock", "--vendor", vendor_name, "--port", str(port), "--token", MOCK_TOKEN)
    server = start_server(
        f"{vendor_name} mock", argv, port, work / f"st-{vendor_name}.log", ready_path="/__mock__/health"
    )
    header = f"{vendor.auth.header}: {vendor.auth.scheme} {MOCK_TOKEN}".replace(":  ", ": ")
    runs: list[tuple[Measured, int]] = []
    try:
        for _ in range(repeat):
            say(f"schemathesis run {vendor_name} -n {examples}")
            report = Path(tempfile.mkdtemp(prefix="st-", dir=work))
            url = f"http://127.0.0.1:{port}{vendor.server_path}"
            argv = [*ST_COMMAND, str(vendor.spec_path), "--url", url, "-n", str(examples), "--seed", str(seed)]
            measured = run_measured([*argv, "-H", header, *ST_FLAGS, "--report-dir", str(report)])
            shutil.rmtree(report, ignore_errors=True)
            found = _ST_CASES.search(measured.stdout)
            if found is None:
                raise BenchError(f"schemathesis printed no case count (exit {measured.code}): {measured.stdout[-300:]}")
            runs.append((measured, int(found.group(1))))
    finally:
        server.stop()
    row = Row(SECTION, f"{vendor_name} schemathesis CLI", info={"examples": examples, "phases": "fuzzing"})
    row.figures = {
        "wall_s": figure("s", [m.seconds for m, _ in runs]),
        "exchanges": figure("count", [n for _, n in runs]),
        "exchanges_per_s": figure("1/s", [n / m.seconds for m, n in runs]),
        "cases": figure("count", [n for _, n in runs]),
        "cases_per_s": figure("1/s", [n / m.seconds for m, n in runs]),
        "peak_mib": figure("MiB", [m.peak_mib for m, _ in runs]),
        "ms_per_exchange": figure("ms", [1000 * m.seconds / max(1, n) for m, n in runs]),
    }
    return row


def run(opts: Options, work: Path) -> tuple[list[Row], list[str]]:
    """Every profile, per vendor and all vendors at once; the schemathesis peer per vendor and profile."""
    rows: list[Row] = []
    notes: list[str] = []
    vendors = list(vendor_names())
    for profile_name in opts.profiles:
        profile = get_profile(profile_name)
        for vendor in [*vendors, ALL]:
            flags = [] if vendor == ALL else ["--vendor", vendor]
            args = [*flags, "--profile", profile_name, "--seed", str(opts.seed)]
            runs = [run_conformance(args, work, label=f"{profile_name}-{vendor}") for _ in range(opts.repeat)]
            label = "all vendors (embedded default)" if vendor == ALL else vendor
            row = suite_row(f"{label} {profile_name}", runs, {"profile": profile_name, "vendor": vendor})
            if vendor != ALL:
                try:
                    peer = _schemathesis(vendor, profile.fuzz_examples, opts.seed, work, opts.repeat)
                except BenchError as exc:
                    notes.append(f"schemathesis CLI on {vendor}: {exc}")
                else:
                    row.figures["x_schemathesis_per_case"] = ratio(
                        row.figures["ms_per_exchange"], peer.figures["ms_per_exchange"]
                    )
                    row.figures["x_schemathesis_fuzz_per_case"] = ratio(
                        row.figures["fuzz_ms_per_case"], peer.figures["ms_per_exchange"]
                    )
                    peer.info["profile"] = profile_name
                    peer.name = f"{vendor} schemathesis CLI -n {profile.fuzz_examples}"
                    rows += [row, peer]
                    continue
            rows.append(row)
    if "quick" in opts.profiles:
        rows.append(_what_if_plain_asserts(opts, work))
        notes.append(
            "what-if row: PYTEST_ADDOPTS=--assert=plain skips pytest's assertion rewriting of every module of the "
            "pytest11 plugins' distributions (schemathesis, hypothesis, allure, conformance), redone at each start "
            "when bytecode is not cached (PYTHONDONTWRITEBYTECODE, read-only or fresh site-packages)"
        )
    return rows, notes


def _what_if_plain_asserts(opts: Options, work: Path) -> Row:
    """The embedded default's quick run with pytest's assertion rewriting off: the cost of that start-up work."""
    args = ["--profile", "quick", "--seed", str(opts.seed)]
    env = {"PYTEST_ADDOPTS": "--assert=plain"}
    runs = [run_conformance(args, work, env=env, label="quick-plain") for _ in range(opts.repeat)]
    return suite_row("all vendors quick, PYTEST_ADDOPTS=--assert=plain (what if)", runs, {"what_if": env})
