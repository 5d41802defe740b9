"""Section "latency": the quick profile per vendor against a live target behind the latency proxy, 0 and 100 ms RTT.

Per vendor and per run, a fresh reference mock (``python -m conformance mock``, seeded ids, a restricted token)
and a fresh :mod:`benchmarks.latency_proxy` in front of it (0 or 50 ms per direction); the suite runs as against a
remote target (``--base-url`` through the proxy, ``--token-env``, ``--allow-destructive``, ``--disposable-id``).
Figures: wall time, exchanges (results.json ``requests``) and, per vendor, whether the verdicts (every
requirement's status) are the same at both round-trip times. With ``--workers 1`` the suite sends its requests one
after another, so the added time is about exchanges x RTT; the default ``--workers`` overlaps them.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from benchmarks.options import Options
from benchmarks.procs import BenchError, Measured, free_port, run_measured, start_server
from benchmarks.report import say
from benchmarks.stats import Figure, Row, figure
from conformance.catalog.loader import load_vendor, vendor_names
from conformance.target.model import DEFAULT_WORKERS

SECTION = "latency"
TOKEN_ENV = "CONFORMANCE_BENCH_TOKEN"
RESTRICTED_ENV = "CONFORMANCE_BENCH_RESTRICTED"
OTHER_ENV = "CONFORMANCE_BENCH_OTHER"
TOKEN = "bench-token"
RESTRICTED = "bench-restricted"
OTHER = "bench-other"
SEEDED = 60  # ids the mock holds and the run may delete (the quick profile deletes far fewer)
RTTS_MS = (0, 100)
TARGET_S = {"blaxel": 15.0, "oxen": 5.0, "baseten": 5.0}  # the brief's targets at 100 ms RTT


def _mock_argv(vendor: str, port: int, ids: list[str]) -> list[str]:
    argv = [sys.executable, "-m", "conformance", "mock", "--vendor", vendor, "--port", str(port)]
    argv += ["--token", TOKEN, "--restricted-token", RESTRICTED, "--other-token", OTHER]
    return argv + [a for i in ids for a in ("--seed-id", i)]


def _proxy_argv(port: int, upstream: int, delay_ms: float) -> list[str]:
    return [
        *(sys.executable, "-m", "benchmarks.latency_proxy"),
        *("--listen", f"127.0.0.1:{port}", "--to", f"127.0.0.1:{upstream}", "--delay-ms", f"{delay_ms:g}"),
    ]


def run_once(
    vendor: str, rtt_ms: float, seed: int, work: Path, tag: str, workers: int | None = None
) -> tuple[Measured, dict[str, Any]]:
    """One quick-profile run through the proxy: the measured process and its results.json."""
    spec = load_vendor(vendor)
    ids = [f"lat-{tag}-{n}" for n in range(SEEDED)]
    mock_port, proxy_port = free_port(), free_port()
    mock = start_server(
        f"{vendor} mock", _mock_argv(vendor, mock_port, ids), mock_port, work / f"lat-{tag}-mock.log",
        ready_path="/__mock__/health",
    )  # fmt: skip
    try:
        proxy = start_server(
            "latency proxy", _proxy_argv(proxy_port, mock_port, rtt_ms / 2), proxy_port, work / f"lat-{tag}-proxy.log",
            ready_path="/__mock__/health",
        )  # fmt: skip
        try:
            report = Path(tempfile.mkdtemp(prefix=f"lat-{tag}-", dir=work)) / "run"
            argv = [sys.executable, "-m", "conformance", "run", "--vendor", vendor]
            argv += ["--base-url", f"http://127.0.0.1:{proxy_port}{spec.server_path}"]
            argv += ["--token-env", TOKEN_ENV, "--restricted-token-env", RESTRICTED_ENV, "--allow-destructive"]
            argv += ["--other-token-env", OTHER_ENV]
            argv += ["--workers", str(workers)] if workers is not None else []
            argv += [a for i in ids for a in ("--disposable-id", i)]
            argv += ["--profile", "quick", "--seed", str(seed), "--report-dir", str(report)]
            say(f"latency: {vendor} quick at {rtt_ms:g} ms RTT, workers {workers or 'default'} ({tag})")
            env = {TOKEN_ENV: TOKEN, RESTRICTED_ENV: RESTRICTED, OTHER_ENV: OTHER}
            measured = run_measured(argv, env=env, timeout=600)
            path = report / "results.json"
            if not path.is_file():
                raise BenchError(f"{vendor} at {rtt_ms:g} ms wrote no results (exit {measured.code}): "
                                 f"{measured.stderr.strip()[-300:]}")  # fmt: skip
            results = json.loads(path.read_text(encoding="utf-8"))
            shutil.rmtree(report.parent, ignore_errors=True)
            return measured, results
        finally:
            proxy.stop()
    finally:
        mock.stop()


def verdicts(results: dict[str, Any]) -> dict[str, str]:
    """requirement (and target) -> status."""
    return {f"{r.get('requirement')}@{r.get('target')}": str(r.get("status")) for r in results.get("results", [])}


def run(opts: Options, work: Path) -> tuple[list[Row], list[str]]:
    """A row per vendor and RTT (the default --workers), and one at 100 ms with --workers 1 (one request after
    another); each 100 ms row says whether its verdicts equal the 0 ms ones."""
    rows: list[Row] = []
    notes = [
        f"quick profile, live target = reference mock behind benchmarks.latency_proxy, {opts.repeat} run(s) each",
        f"default --workers ({DEFAULT_WORKERS}) unless the row says --workers 1",
        "added s / (exchanges x RTT): 1.0 means every exchange waited a full round trip, one after another",
    ]
    plans: list[tuple[float, int | None]] = [(rtt, None) for rtt in RTTS_MS] + [(RTTS_MS[-1], 1)]
    for vendor in vendor_names():
        seen: dict[tuple[float, int | None], list[dict[str, str]]] = {}
        by_plan: dict[tuple[float, int | None], Row] = {}
        for rtt, workers in plans:
            tag = f"{vendor}-{rtt:g}-w{workers or 'd'}"
            runs = [run_once(vendor, rtt, opts.seed, work, f"{tag}-{n}", workers) for n in range(opts.repeat)]
            seen[(rtt, workers)] = [verdicts(results) for _, results in runs]
            label = f"{vendor} quick, {rtt:g} ms RTT" + (", --workers 1" if workers == 1 else "")
            row = Row(SECTION, label, info={"vendor": vendor, "rtt_ms": rtt, "workers": workers or DEFAULT_WORKERS})
            row.figures = {
                "wall_s": figure("s", [m.seconds for m, _ in runs]),
                "exchanges": figure("count", [int(r.get("requests") or 0) for _, r in runs]),
            }
            row.info["exit_codes"] = sorted({m.code for m, _ in runs})
            row.info["counts"] = [r.get("summary", {}).get("counts") for _, r in runs]
            by_plan[(rtt, workers)] = row
            rows.append(row)
        base = by_plan[(RTTS_MS[0], None)]
        first = seen[(RTTS_MS[0], None)][0]
        for plan in plans[1:]:
            slow = by_plan[plan]
            tables = seen[plan] + seen[(RTTS_MS[0], None)]
            differing = sorted({k for t in tables for k in set(t) | set(first) if t.get(k) != first.get(k)})
            slow.info["verdicts_identical"] = not differing
            slow.info["verdicts_differing"] = differing
            added = slow.figures["wall_s"].median - base.figures["wall_s"].median
            sequential = slow.figures["exchanges"].median * plan[0] / 1000
            slow.figures["added_s"] = Figure("s", (added,))
            slow.figures["added_vs_sequential"] = Figure("x", (added / sequential,) if sequential else ())
            if plan[1] is None:
                slow.info["target_s"] = TARGET_S.get(vendor)
    return rows, notes
