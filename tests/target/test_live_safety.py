"""Safety on live targets: guarded DELETEs, opt-in writes, a resource cap, cleanup on SIGINT/SIGTERM, no secret in
any file, parallel targets merged, the cleanup command and the sweep of earlier runs' leftovers."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from conformance.catalog.loader import load_vendor
from conformance.catalog.profiles import get_profile
from conformance.mock import MockOptions, create_app
from conformance.redact import Redactor
from conformance.run.servers import BackgroundServer
from conformance.target.context import TargetContext
from conformance.target.model import Target
from conformance.verdicts import CheckErrored, CheckSkipped
from tests.helpers import ROOT, free_port, run_cli

TOKEN = "live-safety-token-7d41be0c"
RESTRICTED = "live-safety-restricted-93aa1f"
QUICK_CHECKS = {"accepts_valid_body", "status_on", "response_schema", "returns_deleted", "gone_after_delete"}
QUICK = [arg for r in load_vendor("blaxel").requirements if r.check in QUICK_CHECKS for arg in ("--requirement", r.id)]


class MockProcess:
    """``conformance mock --vendor blaxel`` in a subprocess, as a user would start it."""

    def __init__(self, *extra: str) -> None:
        self.port = free_port()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "conformance", "mock", "--vendor", "blaxel", "--port", str(self.port), *extra],
            env={**os.environ, "CONFORMANCE_MOCK_TOKEN": TOKEN},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd=ROOT,
        )
        limit = time.monotonic() + 20
        while True:
            try:
                httpx.get(f"{self.url}/__mock__/health", timeout=1)
                break
            except httpx.HTTPError:
                if time.monotonic() > limit or self.process.poll() is not None:
                    raise RuntimeError("the mock did not start") from None
                time.sleep(0.1)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def ids(self) -> list[str]:
        return list(httpx.get(f"{self.url}/__mock__/resources", timeout=5).json()["ids"])

    def seed(self, resource_id: str) -> None:
        httpx.post(f"{self.url}/__mock__/resources", json={"id": resource_id}, timeout=5).raise_for_status()

    def stop(self) -> None:
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


@pytest.fixture(scope="module")
def blaxel_mock() -> Iterator[MockProcess]:
    mock = MockProcess()
    try:
        yield mock
    finally:
        mock.stop()


def _env() -> dict[str, str]:
    return {"BLAXEL_API_KEY": TOKEN, "BLAXEL_RESTRICTED": RESTRICTED}


def _ledger_events(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


# --------------------------------------------------------------------------- the guard, in-process


@pytest.fixture
def context(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[BackgroundServer, TargetContext]]:
    monkeypatch.setenv("SAFETY_TOKEN", TOKEN)
    server = BackgroundServer(create_app("blaxel", MockOptions(token=TOKEN))).start()
    target = Target(
        name="guarded",
        vendor="blaxel",
        base_url=server.url + "/v0",
        token_env="SAFETY_TOKEN",
        allow_destructive=True,
        max_live_resources=3,
        gone_deadline=2,
    )
    ctx = _context(target, tmp_path)
    try:
        yield server, ctx
    finally:
        ctx.close()
        server.stop()


def _context(target: Target, tmp_path: Path) -> TargetContext:
    return TargetContext(
        target,
        load_vendor("blaxel"),
        get_profile("quick"),
        run_id="test1",
        seed=1,
        redactor=Redactor(),
        ledger_path=tmp_path / f"ledger-{target.name}.jsonl",
    )


def _ids(server: BackgroundServer) -> list[str]:
    return list(httpx.get(f"{server.url}/__mock__/resources", timeout=5).json()["ids"])


def _body(name: str) -> dict[str, object]:
    return {"metadata": {"name": name}, "spec": {"runtime": {"type": "openai", "model": "gpt-4o"}}}


def test_delete_of_a_resource_the_run_did_not_create_is_never_sent(
    context: tuple[BackgroundServer, TargetContext],
) -> None:
    server, ctx = context
    httpx.post(f"{server.url}/__mock__/resources", json={"id": "precious-production-model"}, timeout=5)
    attempts: list[Callable[[], object]] = [
        lambda: ctx.call("delete", resource_id="precious-production-model"),
        lambda: ctx.client.send("DELETE", "/models/precious-production-model", headers=ctx.auth_headers()),
        lambda: ctx.client.send("DELETE", "/models/" + ctx.name_prefix + "guessed", headers=ctx.auth_headers()),
        lambda: ctx.client.send("DELETE", "/models", headers=ctx.auth_headers()),
    ]
    for attempt in attempts:
        with pytest.raises(CheckErrored, match="refusing"):
            attempt()
    assert ctx.client.request_count == 0
    assert "precious-production-model" in _ids(server)
    absent = ctx.absent_id()
    assert ctx.call("delete", resource_id=absent).status == 404


def test_writes_need_allow_destructive(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAFETY_TOKEN", TOKEN)
    server = BackgroundServer(create_app("blaxel", MockOptions(token=TOKEN))).start()
    target = Target(
        name="readonly",
        vendor="blaxel",
        base_url=server.url + "/v0",
        token_env="SAFETY_TOKEN",
        allow_destructive=False,
        disposable_ids=("given-1",),
    )
    ctx = _context(target, tmp_path)
    try:
        with pytest.raises(CheckSkipped, match="allow_destructive"):
            ctx.call("create", body=_body(ctx.name_prefix + "x"))
        with pytest.raises(CheckSkipped, match="allow_destructive"):
            ctx.take_disposable()
        with pytest.raises(CheckSkipped, match="allow_destructive"):
            ctx.call("delete", resource_id="given-1")
        assert ctx.call("delete", resource_id=ctx.absent_id()).status == 404
        assert ctx.client.request_count == 1 and _ids(server) == []
    finally:
        ctx.close()
        server.stop()


def test_resource_cap_keeps_at_most_n_resources(context: tuple[BackgroundServer, TargetContext]) -> None:
    server, ctx = context
    names = [ctx.name_prefix + f"cap{i}" for i in range(7)]
    peak = 0
    for name in names:
        assert ctx.call("create", body=_body(name)).status == 200
        peak = max(peak, len(_ids(server)))
    assert peak <= 3
    assert set(_ids(server)) <= set(names[-3:])
    assert ctx.cleanup() == []
    assert _ids(server) == []


def test_the_cap_evicts_a_finished_rows_resource_before_one_a_running_row_works_on(
    context: tuple[BackgroundServer, TargetContext],
) -> None:
    """Rows judged at once (--workers): a row still running keeps its resource; the oldest is not always evicted."""
    server, ctx = context
    with ctx.judging("RUNNING"):
        working = ctx.name_prefix + "working"
        assert ctx.call("create", body=_body(working)).status == 200
        with ctx.judging("FINISHED"):
            done = ctx.name_prefix + "done"
            assert ctx.call("create", body=_body(done)).status == 200
        with ctx.judging("ASKING"):
            for i in range(2):
                assert ctx.call("create", body=_body(ctx.name_prefix + f"new{i}")).status == 200
        ids = set(_ids(server))
        assert working in ids and done not in ids  # the oldest (working) would have been evicted before
    assert ctx.cleanup() == []


def test_an_unanswered_create_is_recorded_as_uncertain_and_cleaned_up(
    context: tuple[BackgroundServer, TargetContext],
) -> None:
    server, ctx = context
    name = ctx.name_prefix + "uncertain"
    ctx.ledger.add(name, "uncertain")  # as if the POST had been sent and its answer lost
    httpx.post(f"{server.url}/__mock__/resources", json={"id": name}, timeout=5)
    never = ctx.name_prefix + "never-created"
    ctx.ledger.add(never, "uncertain")
    assert ctx.cleanup() == []
    assert _ids(server) == []
    gone = {e["id"]: e["reason"] for e in _ledger_events(ctx.ledger.path or Path()) if e["event"] == "gone"}
    assert name in gone and never in gone


# --------------------------------------------------------------------------- whole runs against `conformance mock`


def _live_run(mock: MockProcess, report: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "conformance",
            "run",
            "--vendor",
            "blaxel",
            "--base-url",
            f"{mock.url}/v0",
            "--allow-destructive",
            "--report-dir",
            str(report),
            *extra,
        ],
        env={**os.environ, **_env()},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_mid_run_cleans_up_everything(sig: signal.Signals, tmp_path: Path) -> None:
    mock = MockProcess("--delete-delay", "0.3")
    try:
        report = tmp_path / "report"
        run = _live_run(mock, report)
        ledger = report / "ledger-blaxel.jsonl"
        limit = time.monotonic() + 60
        while not (ledger.is_file() and ledger.read_text().count('"created"') >= 5):
            assert run.poll() is None, run.communicate()
            assert time.monotonic() < limit, "the run created nothing"
            time.sleep(0.05)
        assert mock.ids(), "resources exist when the signal comes"
        run.send_signal(sig)
        out, err = run.communicate(timeout=60)
        assert run.returncode == 130, out + err
        assert "Traceback" not in err
        assert mock.ids() == [], "nothing the run created is left"
        results = json.loads((report / "results.json").read_text())
        assert results["leaks"] == []
        assert any(f"interrupted by {sig.name}" in note for note in results["notes"])
        assert any(r["message"].startswith("not judged") for r in results["results"])
        assert (report / "summary.md").is_file() and (report / "junit.xml").is_file()
        owned = {}
        for event in _ledger_events(ledger)[1:]:
            owned[event["id"]] = event["event"]
        assert set(owned.values()) == {"gone"}, "the ledger shows every resource gone"
    finally:
        mock.stop()


def test_no_file_the_run_writes_contains_the_token(blaxel_mock: MockProcess, tmp_path: Path) -> None:
    report = tmp_path / "report"
    run = _live_run(blaxel_mock, report, "--restricted-token-env", "BLAXEL_RESTRICTED")
    out, err = run.communicate(timeout=240)
    assert run.returncode in {0, 1}, out + err
    files = [p for p in report.rglob("*") if p.is_file()]
    assert any(p.name == "results.json" for p in files) and any(p.parent.name == "allure-results" for p in files)
    assert len(files) > 10
    for path in files:
        text = path.read_bytes().decode("utf-8", "replace")
        assert TOKEN not in text and RESTRICTED not in text, path
    assert TOKEN not in out + err and RESTRICTED not in out + err
    results = json.loads((report / "results.json").read_text())
    assert results["requests"] > 100, "the full suite ran"
    assert blaxel_mock.ids() == []


def test_parallel_targets_run_at_once_and_merge(blaxel_mock: MockProcess, tmp_path: Path) -> None:
    config = tmp_path / "conformance.toml"
    config.write_text(
        f"""
[defaults]
vendor = "blaxel"
base_url = "{blaxel_mock.url}/v0"
token_env = "BLAXEL_API_KEY"
allow_destructive = true
budget = 120

[targets.staging-a]
[targets.staging-b]
"""
    )
    report = tmp_path / "run"
    result = run_cli(
        "run", "--config", str(config), "--target", "staging-a", "--target", "staging-b", "--report-dir", str(report),
        "--allow-incomplete", *QUICK, env=_env(), timeout=240,  # no restricted token: its 403 row is skipped
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    results = json.loads((report / "results.json").read_text())
    assert [t["name"] for t in results["targets"]] == ["staging-a", "staging-b"]
    per_target = {name: [r for r in results["results"] if r["target"] == name] for name in ("staging-a", "staging-b")}
    assert len(per_target["staging-a"]) == len(per_target["staging-b"]) == len(QUICK) // 2
    assert not (report / ".sessions").exists()
    junit = (report / "junit.xml").read_text()
    assert "staging-a::" in junit and "staging-b::" in junit
    run_id = results["run_id"]
    for slot, name in (("a", "staging-a"), ("b", "staging-b")):
        ids = {e["id"] for e in _ledger_events(report / f"ledger-{name}.jsonl") if e["event"] == "add"}
        assert ids and all(str(i).startswith(f"cf-{run_id}{slot}-") for i in ids), "names never clash"
    assert blaxel_mock.ids() == []


def _leftover_ledger(folder: Path, run_id: str, base_url: str, ids: list[str]) -> Path:
    target = Target(name="staging", vendor="blaxel", base_url=base_url, token_env="BLAXEL_API_KEY")
    folder.mkdir(parents=True)
    path = folder / "ledger-staging.jsonl"
    lines = [{"event": "open", "run_id": run_id, "target": target.as_dict()}]
    lines += [{"event": "add", "id": i, "origin": "created"} for i in ids]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


def test_cleanup_command_retries_a_run_ledger(blaxel_mock: MockProcess, tmp_path: Path) -> None:
    ids = ["cf-0101000000aa-left1", "cf-0101000000aa-left2"]
    for resource_id in ids:
        blaxel_mock.seed(resource_id)
    blaxel_mock.seed("someone-elses-model")
    ledger = _leftover_ledger(tmp_path / "0101000000aa", "0101000000aa", f"{blaxel_mock.url}/v0", ids)
    result = run_cli("cleanup", "--run-id", "0101000000aa", "--report-root", str(tmp_path), env=_env(), timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "nothing left" in result.stdout
    assert blaxel_mock.ids() == ["someone-elses-model"]
    gone = {e["id"] for e in _ledger_events(ledger) if e["event"] == "gone"}
    assert gone == set(ids)
    httpx.delete(f"{blaxel_mock.url}/v0/models/someone-elses-model", headers={"Authorization": f"Bearer {TOKEN}"})


def test_cleanup_command_exits_1_when_something_is_left(tmp_path: Path) -> None:
    _leftover_ledger(tmp_path / "0101000000bb", "0101000000bb", f"http://127.0.0.1:{free_port()}/v0", ["cf-x-1"])
    result = run_cli("cleanup", "--run-id", "0101000000bb", "--report-root", str(tmp_path), env=_env(), timeout=60)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "STILL THERE cf-x-1" in result.stdout


def test_a_run_sweeps_the_leftovers_of_earlier_runs_first(blaxel_mock: MockProcess, tmp_path: Path) -> None:
    blaxel_mock.seed("cf-0101000000cc-left")
    _leftover_ledger(tmp_path / "0101000000cc", "0101000000cc", f"{blaxel_mock.url}/v0", ["cf-0101000000cc-left"])
    config = tmp_path / "conformance.toml"
    config.write_text(
        f"""
[targets.staging]
vendor = "blaxel"
base_url = "{blaxel_mock.url}/v0"
allow_destructive = true
"""
    )
    result = run_cli(
        "run", "--config", str(config), "--target", "staging", "--report-dir", str(tmp_path / "now"),
        "--requirement", "BLX-DELETE-UNKNOWN-404", env=_env(), timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    results = json.loads((tmp_path / "now" / "results.json").read_text())
    assert results["targets"][0]["swept"] == [
        {"run": "0101000000cc", "id": "cf-0101000000cc-left", "outcome": "deleted"}
    ]
    assert any("swept 1 leftover" in note for note in results["notes"])
    assert blaxel_mock.ids() == []


def test_cleanup_runs_even_when_the_request_budget_is_spent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAFETY_TOKEN", TOKEN)
    server = BackgroundServer(create_app("blaxel", MockOptions(token=TOKEN))).start()
    target = Target(
        name="budgeted", vendor="blaxel", base_url=server.url + "/v0", token_env="SAFETY_TOKEN", max_requests=3
    )
    ctx = _context(target, tmp_path)
    try:
        for i in range(3):
            ctx.call("create", body=_body(f"{ctx.name_prefix}b{i}"))
        with pytest.raises(CheckErrored, match="request budget of 3"):
            ctx.call("create", body=_body(f"{ctx.name_prefix}b3"))
        with pytest.raises(CheckErrored, match="request budget"):
            ctx.ensure_can_continue()
        assert len(_ids(server)) == 3
        assert ctx.cleanup() == []
        assert _ids(server) == []
    finally:
        ctx.close()
        server.stop()
