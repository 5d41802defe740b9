"""The suite against a server no one here wrote: Stoplight Prism mocking the same specs (slow; needs Prism).

Prism answers every request with the document's static example and keeps no state. So every row about the
shape of a reply must pass (no check may be stricter than the published contract), and exactly the rows about
state and about what the document leaves to the server (credentials checked, ids echoed, 404s) must fail, plus
the one place where Prism is stricter than the document (a body on a DELETE is refused 415).
Install Prism once with ``python -m benchmarks.prism`` (npm); without it these tests are skipped.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from benchmarks import prism
from conformance.catalog.loader import load_vendor
from tests.helpers import free_port, run_cli

pytestmark = pytest.mark.slow

# What Prism's static mock really breaks, per vendor (docs/independent-server.md gives the reason for each): it keeps
# no state (nothing is ever gone, a case variant or an odd id "deletes" too), checks only that a security header is
# present (any token, any scheme, a scheme alone), answers the document's example (not the id deleted) and refuses
# a body on an operation that declares none (415 to the documented `requests.delete(..., json={})` sample).
EXPECTED_FAILURES = {
    "baseten": {
        "BTN-DELETE-AUTH-NOT-PROCESSED",
        "BTN-DELETE-CASE-SENSITIVE",
        "BTN-DELETE-DOC-SAMPLES",
        "BTN-DELETE-GONE",
        "BTN-DELETE-GONE-STAYS-GONE",
        "BTN-DELETE-ODD-IDS-4XX",
        "BTN-DELETE-ODD-IDS-NO-5XX",
        "BTN-DELETE-STATUS-DOCUMENTED",
        "BTN-DELETE-TOMBSTONE-ID",
        "BTN-DELETE-UNKNOWN-404",
        "BTN-DELETE-WRONG-SCHEME-401",
        "BTN-DELETE-WRONG-TOKEN-401",
        "BTN-LIFECYCLE-STATE-MACHINE",
    },
    "oxen": {
        "OXN-DELETE-AUTH-NOT-PROCESSED",
        "OXN-DELETE-GONE",
        "OXN-DELETE-GONE-STAYS-GONE",
        "OXN-DELETE-NO-CREDENTIALS-401",
        "OXN-DELETE-ODD-IDS-4XX",
        "OXN-DELETE-RETURNS-DELETED",
        "OXN-DELETE-UNKNOWN-404",
        "OXN-DELETE-WRONG-TOKEN-401",
        "OXN-LIFECYCLE-STATE-MACHINE",
    },
}
# Rows that fail on Prism although Prism breaks nothing the docs oblige (false alarms of the suite, reported to the
# lead; docs/independent-server.md): tolerated here, not expected. Delete an entry once its fix is merged.
# Oxen: a 200 to an id that does not exist is only inferred-wrong (OXN-DELETE-GONE and -UNKNOWN-404 are SHOULD: "a
# repeated 200 is indistinguishable from a delete that never happens"), yet these MUST rows fail on that 200 alone;
# what they must judge (no 5xx, the existing model survives) passes on Prism.
KNOWN_FALSE_ALARMS: dict[str, set[str]] = {
    "baseten": set(),
    "oxen": set(),  # was OXN-DELETE-CASE-SENSITIVE and -ODD-IDS-NO-5XX: a 200 to an unknown id is now SHOULD there
}
# Enough disposable ids that every MUST row is judged (Prism deletes nothing, so each row that needs a resource
# takes a fresh id; 10 are used in 2026-12): the verdict must be FAIL, never INCOMPLETE.
DISPOSABLE_IDS = 14


@pytest.fixture
def prism_url(vendor: str) -> Iterator[str]:
    binary, why = prism.executable()
    if binary is None:
        pytest.skip(why)
    port = free_port()
    spec = load_vendor(vendor).spec_path
    proc = subprocess.Popen(prism.argv(binary, spec, port), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(url, timeout=1)
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline and proc.poll() is None, "Prism did not start"
                time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.mark.parametrize("vendor", sorted(EXPECTED_FAILURES))
def test_prism_fails_exactly_the_rows_it_breaks(vendor: str, prism_url: str, tmp_path: Path) -> None:
    ids = [arg for n in range(DISPOSABLE_IDS) for arg in ("--disposable-id", f"prism-{n}")]
    done = run_cli(
        *["run", "--vendor", vendor, "--base-url", prism_url, "--allow-destructive", "--gone-deadline", "2"],
        *[*ids, "--seed", "1", "--report-dir", str(tmp_path / "r")],
        env={load_vendor(vendor).token_env: "prism-token"},
        timeout=600,
    )
    assert "Traceback" not in done.stderr, done.stderr
    document = json.loads((tmp_path / "r" / "results.json").read_text())
    results = document["results"]
    failed = {r["requirement"] for r in results if r["status"] == "failed"}
    errors = {r["requirement"]: r["message"] for r in results if r["status"] == "error"}
    assert errors == {}
    assert failed - KNOWN_FALSE_ALARMS[vendor] == EXPECTED_FAILURES[vendor]
    # The preflight takes Prism's root for the base path (the specs' paths are served there) and every MUST row ran.
    assert document["summary"]["must_skipped"] == 0, document["summary"]["incomplete"]
    assert document["summary"]["verdict"] == "FAIL"
    assert document["summary"]["leaks"] == 0
    assert done.returncode == 1  # MUST rows (the resource is never gone, any credentials accepted) failed
