"""Start-up and per-run overhead: ``conformance run --vendor V`` beside plain ``st run``, same spec, same server.

Run as ``python -m benchmarks.overhead [--vendor baseten] [--pairs 5]``: one reference mock (``conformance mock``,
seeded ids) in a process of its own; then, in pairs, the suite's quick profile against it as a live target and the
schemathesis CLI (fuzzing phase, the profile's fuzz examples, the token header) against the same URL. Prints each
pair's wall times and ratio, the medians, and the load average beside every pair (the machine may be shared).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from benchmarks.latency import RESTRICTED, RESTRICTED_ENV, TOKEN, TOKEN_ENV, _mock_argv
from benchmarks.procs import free_port, run_measured, start_server
from benchmarks.suite_speed import ST_COMMAND, ST_FLAGS
from conformance.catalog.loader import load_vendor
from conformance.catalog.profiles import get_profile

IDS_PER_RUN = 40


def main(argv: Sequence[str] | None = None) -> int:
    """Measure the pairs and print them; exit 1 when a conformance run did not exit 0."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.overhead")
    parser.add_argument("--vendor", default="baseten")
    parser.add_argument("--pairs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    pairs = max(1, min(args.pairs, 50))
    vendor = load_vendor(args.vendor)
    work = Path(tempfile.mkdtemp(prefix="conformance-overhead-"))
    ids = [f"ov-{n}" for n in range(IDS_PER_RUN * pairs)]
    port = free_port()
    mock = start_server(
        "mock", _mock_argv(args.vendor, port, ids), port, work / "mock.log", ready_path="/__mock__/health"
    )
    url = f"http://127.0.0.1:{port}{vendor.server_path}"
    header = f"{vendor.auth.header}: {vendor.auth.scheme} {TOKEN}".replace(":  ", ": ")
    examples = get_profile("quick").fuzz_examples
    ours_s: list[float] = []
    st_s: list[float] = []
    bad = 0
    try:
        for n in range(pairs):
            mine = ids[n * IDS_PER_RUN : (n + 1) * IDS_PER_RUN]
            run = [sys.executable, "-m", "conformance", "run", "--vendor", args.vendor, "--base-url", url]
            run += ["--token-env", TOKEN_ENV, "--restricted-token-env", RESTRICTED_ENV, "--allow-destructive"]
            run += [a for i in mine for a in ("--disposable-id", i)]
            run += ["--profile", "quick", "--seed", str(args.seed), "--report-dir", str(work / f"run{n}" / "run")]
            load = os.getloadavg()[0]
            ours = run_measured(run, env={TOKEN_ENV: TOKEN, RESTRICTED_ENV: RESTRICTED}, timeout=300)
            st = [*ST_COMMAND, str(vendor.spec_path), "--url", url, "-n", str(examples), "--seed", str(args.seed)]
            peer = run_measured([*st, "-H", header, *ST_FLAGS, "--report-dir", str(work / f"st{n}")], timeout=300)
            bad += ours.code != 0
            ours_s.append(ours.seconds)
            st_s.append(peer.seconds)
            print(
                f"pair {n + 1}: conformance {ours.seconds:.2f}s (exit {ours.code}), st {peer.seconds:.2f}s "
                f"(exit {peer.code}), ratio {ours.seconds / peer.seconds:.2f}, load {load:.2f}",
                flush=True,
            )
    finally:
        mock.stop()
    ratios = [a / b for a, b in zip(ours_s, st_s, strict=True)]
    print(
        f"median: conformance {statistics.median(ours_s):.2f}s, st {statistics.median(st_s):.2f}s, "
        f"ratio {statistics.median(ratios):.2f} (per pair {', '.join(f'{r:.2f}' for r in ratios)}); "
        f"load at end {os.getloadavg()[0]:.2f}"
    )
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
