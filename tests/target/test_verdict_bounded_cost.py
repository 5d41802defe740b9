"""A server whose deletes never take effect costs one gone deadline, not one per resource, and is a failed MUST."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from conformance.catalog.loader import load_vendor
from conformance.catalog.profiles import get_profile
from conformance.exchange import Exchange
from conformance.mock import MockOptions, create_app
from conformance.redact import Redactor
from conformance.run.servers import BackgroundServer
from conformance.target.context import CAUSE_STREAK, TargetContext
from conformance.target.model import Target
from conformance.verdicts import CheckErrored
from tests.helpers import mock_process, run_cli

TOKEN = "verdict-bounded-token-1"
DEADLINE = 1.5


def _body(name: str) -> dict[str, object]:
    return {"metadata": {"name": name}, "spec": {"runtime": {"type": "openai", "model": "gpt-4o"}}}


@pytest.fixture
def stuck(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TargetContext]:
    """A context on a live-like Blaxel mock whose deletes answer 200 but never take effect."""
    monkeypatch.setenv("VERDICT_TOKEN", TOKEN)
    options = MockOptions(token=TOKEN, faults=frozenset({"delete-does-not-delete"}))
    server = BackgroundServer(create_app("blaxel", options)).start()
    target = Target(
        name="stuck",
        vendor="blaxel",
        base_url=server.url + "/v0",
        token_env="VERDICT_TOKEN",
        gone_deadline=DEADLINE,
        max_live_resources=4,
    )
    ctx = TargetContext(
        target,
        load_vendor("blaxel"),
        get_profile("quick"),
        run_id="vb1",
        seed=1,
        redactor=Redactor(),
        ledger_path=tmp_path / "ledger.jsonl",
    )
    try:
        yield ctx
    finally:
        ctx.close()
        server.stop()


def test_waits_on_a_never_deleting_server_cost_one_deadline_in_all(stuck: TargetContext) -> None:
    names = [stuck.name_prefix + f"r{i}" for i in range(3)]
    for name in names:
        assert stuck.call("create", body=_body(name)).status == 200
        assert stuck.call("delete", resource_id=name).status == 200
    started = time.monotonic()
    outcomes = [stuck.wait_until_gone(name)[0] for name in names]
    elapsed = time.monotonic() - started
    assert outcomes == [False, False, False]
    assert elapsed < DEADLINE + 1.0, f"{elapsed:.1f}s: the deadline was paid per resource"
    assert stuck.stuck_reason(), "the target is not known to keep deleted resources"
    before = stuck.client.request_count
    assert stuck.wait_until_gone(names[0])[0] is False
    assert stuck.client.request_count == before, "a decided resource was polled again"
    started = time.monotonic()
    leaks = stuck.cleanup()
    assert set(names) <= set(leaks)
    assert time.monotonic() - started < 3.0
    assert "do not take effect" in stuck.leak_reasons[names[0]]


def test_a_resource_cap_reached_because_deletes_never_happen_names_that_cause(stuck: TargetContext) -> None:
    names = [stuck.name_prefix + f"c{i}" for i in range(3)]
    for name in names:
        stuck.call("create", body=_body(name))
        stuck.call("delete", resource_id=name)
    stuck.wait_until_gone(names[0])
    stuck.call("create", body=_body(stuck.name_prefix + "c3"))
    with pytest.raises(CheckErrored, match="do not take effect"):
        stuck.call("create", body=_body(stuck.name_prefix + "c4"))


def test_a_streak_of_401s_to_the_token_is_a_set_up_problem(stuck: TargetContext) -> None:
    answer = Exchange("DELETE", "u", {"Authorization": "Bearer [REDACTED]"}, None, status=401)
    for _ in range(CAUSE_STREAK - 1):
        stuck._observe("DELETE", "/models/x", answer)
    assert stuck.setup_problem is None
    stuck._observe("DELETE", "/models/x", answer)
    assert stuck.setup_problem is not None and "$VERDICT_TOKEN" in stuck.setup_problem
    with pytest.raises(CheckErrored, match="not judged"):
        stuck.ensure_can_continue()


def test_a_live_never_deleting_server_is_a_failed_must_within_the_deadline(tmp_path: Path) -> None:
    report = tmp_path / "report"
    with mock_process("--vendor", "blaxel", "--token", TOKEN, "--fault", "delete-does-not-delete") as url:
        started = time.monotonic()
        result = run_cli(
            "run", "--vendor", "blaxel", "--base-url", url + "/v0", "--token-env", "VERDICT_TOKEN",
            "--allow-destructive", "--gone-deadline", "3", "--report-dir", str(report),
            env={**os.environ, "VERDICT_TOKEN": TOKEN}, timeout=180,
        )  # fmt: skip
        elapsed = time.monotonic() - started
    assert result.returncode == 1, result.stdout + result.stderr
    data = json.loads((report / "results.json").read_text())
    gone = next(r for r in data["results"] if r["requirement"] == "BLX-DELETE-GONE")
    assert gone["status"] == "failed" and "still answers 200" in gone["message"], gone["message"]
    assert data["leaks"], "the resources that stayed are not reported"
    # 25 resources (the cap) at 3 s each would be 75 s of waiting alone
    assert elapsed < 50, f"{elapsed:.0f}s"
