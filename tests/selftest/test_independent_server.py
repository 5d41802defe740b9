"""The suite against a server no one here wrote: Stoplight Prism mocking the same specs (slow; needs Prism).

Prism answers every request with the document's static example and keeps no state. So every row about the
shape of a reply must pass (no check may be stricter than the published contract), and exactly the rows about
state and about what the document leaves to the server (credentials checked, ids echoed, 404s) must fail.
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

# What a stateless static-example server must fail, per vendor (docs/independent-server.md explains each).
EXPECTED_FAILURES = {
    "baseten": {
        "BTN-DELETE-GONE",
        "BTN-DELETE-TOMBSTONE-ID",
        "BTN-DELETE-UNKNOWN-404",
        "BTN-DELETE-WRONG-SCHEME-401",
        "BTN-DELETE-WRONG-TOKEN-401",
        "BTN-LIFECYCLE-STATE-MACHINE",
    },
    "oxen": {
        "OXN-DELETE-GONE",
        "OXN-DELETE-NO-CREDENTIALS-401",
        "OXN-DELETE-RETURNS-DELETED",
        "OXN-DELETE-UNKNOWN-404",
        "OXN-DELETE-WRONG-TOKEN-401",
        "OXN-LIFECYCLE-STATE-MACHINE",
    },
}


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
def test_prism_fails_exactly_the_stateful_rows(vendor: str, prism_url: str, tmp_path: Path) -> None:
    ids = [arg for n in range(8) for arg in ("--disposable-id", f"prism-{n}")]
    done = run_cli(
        *["run", "--vendor", vendor, "--base-url", prism_url, "--allow-destructive", "--gone-deadline", "2"],
        *[*ids, "--seed", "1", "--report-dir", str(tmp_path / "r")],
        env={load_vendor(vendor).token_env: "prism-token"},
        timeout=600,
    )
    assert "Traceback" not in done.stderr, done.stderr
    results = json.loads((tmp_path / "r" / "results.json").read_text())["results"]
    failed = {r["requirement"] for r in results if r["status"] == "failed"}
    errors = {r["requirement"]: r["message"] for r in results if r["status"] == "error"}
    assert errors == {}
    assert failed == EXPECTED_FAILURES[vendor]
    assert done.returncode == 1  # a MUST row (the resource is never gone) failed
