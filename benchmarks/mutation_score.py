"""Mutation score of the suite: each spec-derived mutant of the faithful mocks, judged through the live-target route.

``python -m benchmarks.mutation_score [--vendor V]... [--mutant NAME]... [--budget 60] [--out DIR]`` starts the
mock with one mutant on a free loopback port (uvicorn in a thread), runs ``conformance run --base-url ...`` against
it in a subprocess, and calls the mutant KILLED when the run exits 1 with a failed MUST row of the mutant's
operation. It prints a table, the score killed/total per vendor and the survivors with the requirement(s) that
should have caught them; ``DIR/mutation-score.json`` keeps every row.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from conformance import mock
from conformance.mock._mutants import Mutant, default_spec_dir, mutants_of
from conformance.run.servers import BackgroundServer

TOKEN = "cf-mutant-token-a1b2c3"
RESTRICTED = "cf-mutant-restricted-d4e5f6"
OTHER = "cf-mutant-other-identity-a7b8c9"  # a second workspace's token (the isolation rows)
DISPOSABLE = 40
SERVER_PATH_KEY = "server_path"


@dataclass
class Outcome:
    """What one run against one mutant showed."""

    vendor: str
    mutant: str
    kind: str
    operation: str
    exit_code: int
    killed: bool
    must_failed: list[str] = field(default_factory=list)
    should_failed: list[str] = field(default_factory=list)
    expected: list[str] = field(default_factory=list)
    seconds: float = 0.0
    hits: int | None = None  # exchanges the mutant changed (0: the suite never sent what triggers it)


def catalog_rows(vendor: str) -> list[dict[str, Any]]:
    """The vendor's requirement rows as loaded for a run: hand-written and derived from openapi.yaml alike."""
    from conformance.catalog.loader import load_vendor

    return [
        {"id": r.id, "level": r.level, "operation": r.operation, "check": r.check, "args": dict(r.args)}
        for r in load_vendor(vendor).requirements
    ]


def expected_requirements(mutant: Mutant, rows: Iterable[Mapping[str, Any]]) -> list[str]:
    """The catalog rows (of the mutant's operation) one would expect to catch it; [] when none exists."""
    rows = [r for r in rows if r.get("operation") == mutant.operation]

    def having(check: str, **args: Any) -> list[str]:
        return [
            str(r["id"])
            for r in rows
            if r.get("check") == check and all((r.get("args") or {}).get(k) == v for k, v in args.items())
        ]

    field_name = ".".join(mutant.path).replace(".[]", "[]")
    if mutant.kind == "response-member":
        aspects = {"dropped": ("required",), "outside-enum": ("enum",)}.get(mutant.name.rsplit(".", 1)[-1])
        found = [
            rid
            for aspect in aspects or ("type", "enum")
            for rid in having("response_field", field=field_name, aspect=aspect)
        ]
        return found or having("response_schema")
    if mutant.kind == "media-type":
        return having("content_type_json")
    if mutant.kind == "status":
        probes = {200: "deleted", 401: "no_credentials", 403: "restricted_token", 404: "unknown", 409: "duplicate"}
        hits = having("status_on", status=mutant.status)
        if mutant.status == 400:
            hits += having("rejects_invalid_body")
        return hits or having("status_on", probe=probes.get(mutant.status, "")) or having("status_documented")
    if mutant.kind == "error-shape":
        return having("error_shape")
    if mutant.kind == "auth":
        probe = {
            "auth-no-credentials-accepted": "no_credentials",
            "auth-any-token-accepted": "wrong_token",
            "auth-wrong-scheme-accepted": "wrong_scheme",
            "auth-permission-ignored": "restricted_token",
        }[mutant.action]
        return having("status_on", probe=probe)
    if mutant.kind == "lifecycle":
        if mutant.action == "answer-other":
            return having("returns_deleted")
        if mutant.action == "phantom":
            return having("status_on", probe="unknown")
        return having("gone_after_delete") + having("lifecycle_state_machine")
    if mutant.kind in ("create-echo", "default"):
        return having("echoes_request")
    if mutant.kind == "request-enum":
        return having("accepts_valid_body")
    if mutant.kind == "read-only":
        return having("read_only_ignored")
    if mutant.kind == "request-validation":
        violation = {"accept-missing": "missing_required", "accept-wrong-type": "wrong_type"}.get(mutant.action, "enum")
        return having("rejects_invalid_body", violation=violation) or having("rejects_invalid_body")
    if mutant.kind == "unusual-id":
        return having("fuzz", schemathesis="not_a_server_error")
    return []


def run_one(
    vendor: str, mutant: Mutant | None, out: Path, budget: float, seed: int, only_operation: bool = True
) -> Outcome:
    """Serve vendor's mock with mutant (None: faithful) and judge it with the CLI's live route.

    With ``only_operation`` the run judges only the requirements of the mutant's operation (the only rows that can
    kill it), which halves the time of a vendor with two operations.
    """
    name = mutant.name if mutant else "faithful"
    spec_dir = default_spec_dir(vendor)
    profile = yaml.safe_load((spec_dir / "vendor.yaml").read_text(encoding="utf-8"))
    creates = "create" in (profile.get("operations") or {})
    ids = () if creates else tuple(f"cf-disposable-{i}" for i in range(DISPOSABLE))
    options = mock.MockOptions(
        token=TOKEN, restricted_token=RESTRICTED, other_token=OTHER, seed_ids=ids, mutant=name if mutant else None
    )
    app = mock.create_app(vendor, options)
    server = BackgroundServer(app).start()
    report = out / vendor / name
    command = [
        sys.executable, "-m", "conformance", "run", "--vendor", vendor,
        "--base-url", server.url + str(profile.get(SERVER_PATH_KEY) or ""),
        "--token-env", "CF_MUTANT_TOKEN", "--restricted-token-env", "CF_MUTANT_RESTRICTED",
        "--other-token-env", "CF_MUTANT_OTHER",
        "--allow-destructive", "--budget", str(budget), "--seed", str(seed), "--report-dir", str(report),
        "--gone-deadline", "2",
    ]  # fmt: skip
    for key in ids:
        command += ["--disposable-id", key]
    if mutant is not None and only_operation:
        for row in catalog_rows(vendor):
            if row.get("operation") == mutant.operation:
                command += ["--requirement", str(row["id"])]
    env = {**os.environ, "CF_MUTANT_TOKEN": TOKEN, "CF_MUTANT_RESTRICTED": RESTRICTED, "CF_MUTANT_OTHER": OTHER}
    started = time.monotonic()
    try:
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=budget + 60, check=False)
        code = done.returncode
    except subprocess.TimeoutExpired:
        code = -1
    finally:
        server.stop()
    seconds = time.monotonic() - started
    outcome = judge(vendor, mutant, report, code, seconds)
    outcome.hits = getattr(app.state, "mutant_hits", None)
    (report / "mutant-hits.json").write_text(json.dumps({"hits": outcome.hits}), encoding="utf-8")
    return outcome


def judge(vendor: str, mutant: Mutant | None, report: Path, code: int, seconds: float = 0.0) -> Outcome:
    """Read a run's results.json: the failed rows of the mutant's operation, and whether they kill it."""
    must: list[str] = []
    should: list[str] = []
    operation = mutant.operation if mutant else ""
    try:
        results = json.loads((report / "results.json").read_text(encoding="utf-8"))["results"]
    except (OSError, ValueError, KeyError):
        results = []
    for row in results:
        if row.get("status") not in ("failed", "error"):
            continue
        if mutant is None or row.get("operation") == operation:
            (must if row.get("level") == "MUST" else should).append(str(row["requirement"]))
    rows = catalog_rows(vendor)
    return Outcome(
        vendor=vendor,
        mutant=mutant.name if mutant else "faithful",
        kind=mutant.kind if mutant else "faithful",
        operation=operation,
        exit_code=code,
        killed=code == 1 and bool(must),
        must_failed=sorted(set(must)),
        should_failed=sorted(set(should)),
        expected=expected_requirements(mutant, rows) if mutant else [],
        seconds=round(seconds, 1),
    )


def complete(report: Path) -> bool:
    """Whether report holds the results of a run that finished (not one interrupted by a signal)."""
    try:
        notes = json.loads((report / "results.json").read_text(encoding="utf-8")).get("notes", [])
    except (OSError, ValueError):
        return False
    return not any(str(note).startswith("run interrupted") for note in notes)


def judge_existing(vendor: str, mutant: Mutant, report: Path) -> Outcome:
    """The outcome of a finished run from its report folder (the exit code inferred from its MUST rows)."""
    outcome = judge(vendor, mutant, report, 1)
    outcome.exit_code = 1 if outcome.must_failed else 0
    outcome.killed = bool(outcome.must_failed)
    with contextlib.suppress(OSError, ValueError, KeyError):
        outcome.hits = json.loads((report / "mutant-hits.json").read_text(encoding="utf-8"))["hits"]
    return outcome


def summarize_reports(vendors: list[str], out: Path) -> list[Outcome]:
    """Outcomes rebuilt from the report folders of an earlier (perhaps interrupted) measurement."""
    rows: list[Outcome] = []
    for vendor in vendors:
        for mutant in mutants_of(vendor, default_spec_dir(vendor)).values():
            report = out / vendor / mutant.name
            if complete(report):
                rows.append(judge_existing(vendor, mutant, report))
    return rows


def main(argv: list[str] | None = None) -> int:
    """Measure, print the table and the survivors; exit 1 when the faithful mock itself fails a run."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.mutation_score", description=__doc__)
    parser.add_argument("--vendor", action="append", default=[], help="limit to these vendors (repeatable)")
    parser.add_argument("--mutant", action="append", default=[], help="limit to these mutants (repeatable)")
    parser.add_argument("--kind", action="append", default=[], help="limit to these kinds (repeatable)")
    parser.add_argument("--budget", type=float, default=60.0, help="time budget of each run, in seconds")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=Path("/tmp/mutants"))
    parser.add_argument("--resume", action="store_true", help="skip mutants whose report folder in --out is complete")
    parser.add_argument("--skip-faithful", action="store_true", help="do not judge the faithful mock first")
    parser.add_argument("--reverse", action="store_true", help="run the mutants in reverse order (a second worker)")
    parser.add_argument(
        "--all-requirements", action="store_true", help="judge every requirement, not only the mutant's operation's"
    )
    parser.add_argument(
        "--summarize", action="store_true", help="print the table from the report folders in --out, run nothing"
    )
    args = parser.parse_args(argv)
    vendors = args.vendor or list(mock.vendors())
    if args.summarize:
        print_summary(summarize_reports(vendors, args.out))
        return 0
    all_rows: list[Outcome] = []
    for vendor in vendors:
        found = mutants_of(vendor, default_spec_dir(vendor))
        chosen = [
            m
            for m in found.values()
            if not m.equivalent
            and (not args.mutant or m.name in args.mutant)
            and (not args.kind or m.kind in args.kind)
        ]
        (args.out / vendor).mkdir(parents=True, exist_ok=True)
        if args.reverse:
            chosen.reverse()
        faithful = Outcome(vendor, "faithful", "faithful", "", 0, False)
        if not args.skip_faithful:
            faithful = run_one(vendor, None, args.out, args.budget, args.seed)
        print(f"{vendor}: faithful exit {faithful.exit_code} ({faithful.seconds}s); {len(chosen)} mutants", flush=True)
        if faithful.exit_code != 0:
            print(f"{vendor}: the faithful mock fails: {faithful.must_failed + faithful.should_failed}", flush=True)
            return 1
        for mutant in chosen:
            report = args.out / vendor / mutant.name
            if args.resume and complete(report):
                outcome = judge_existing(vendor, mutant, report)
            else:
                outcome = run_one(vendor, mutant, args.out, args.budget, args.seed, not args.all_requirements)
            all_rows.append(outcome)
            rows = [asdict(r) for r in all_rows if r.vendor == vendor]
            (args.out / vendor / "mutation-score.json").write_text(json.dumps(rows, indent=1), encoding="utf-8")
            verdict = "KILLED" if outcome.killed else ("should" if outcome.should_failed else "SURVIVED")
            print(
                f"{vendor:<8} {mutant.name:<64} {verdict:<8} exit {outcome.exit_code} "
                f"{','.join(outcome.must_failed or outcome.should_failed)[:90]}",
                flush=True,
            )
    print_summary(all_rows)
    return 0


def print_summary(rows: list[Outcome]) -> None:
    """The score per vendor and kind, then the survivors grouped by kind."""
    print("\nvendor   kind                 killed/total  (SHOULD-only)")
    for vendor in dict.fromkeys(r.vendor for r in rows):
        mine = [r for r in rows if r.vendor == vendor]
        for kind in dict.fromkeys(r.kind for r in mine):
            of_kind = [r for r in mine if r.kind == kind]
            killed = sum(r.killed for r in of_kind)
            should = sum(not r.killed and bool(r.should_failed) for r in of_kind)
            print(f"{vendor:<8} {kind:<20} {killed:>4}/{len(of_kind):<4}  ({should})")
        killed = sum(r.killed for r in mine)
        print(f"{vendor:<8} {'TOTAL':<20} {killed:>4}/{len(mine):<4}  score {killed / max(len(mine), 1):.0%}")
    print("\nsurvivors (not failed by any MUST of their operation), by kind:")
    for kind in dict.fromkeys(r.kind for r in rows):
        survivors = [r for r in rows if r.kind == kind and not r.killed]
        if not survivors:
            continue
        print(f"  {kind}:")
        for r in survivors:
            seen = f" [SHOULD failed: {','.join(r.should_failed)}]" if r.should_failed else ""
            if r.hits == 0:
                seen += " [NOT EXERCISED: the run never sent what triggers it]"
            expected = ",".join(r.expected) or "(no requirement)"
            print(f"    {r.vendor:<8} {r.mutant:<64} should fail: {expected}{seen}")


if __name__ == "__main__":
    sys.exit(main())
