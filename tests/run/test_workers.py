"""``--workers N``: rows (and a row's independent requests) judged at once, never more than N requests in flight,
inside the request budget, with the verdicts and evidence order of one-at-a-time judging."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from conformance.catalog.model import Requirement, Source
from conformance.errors import UsageError
from conformance.redact import Redactor
from conformance.run.judging import Row, RowJudge, judge_row
from conformance.target.config import Overrides
from conformance.target.http import RecordingClient, RequestBudgetExceeded
from conformance.target.model import Target, check_workers
from tests.helpers import run_cli


class SlowServer:
    """A loopback server answering every request after ``delay`` seconds; it records the most requests at once."""

    def __init__(self, delay: float = 0.05) -> None:
        self.delay = delay
        self.now = 0
        self.most = 0
        self.count = 0
        lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _answer(self) -> None:
                with lock:
                    outer.now += 1
                    outer.count += 1
                    outer.most = max(outer.most, outer.now)
                time.sleep(outer.delay)
                with lock:
                    outer.now -= 1
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                body = b'{"ok": true}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_DELETE = _answer

            def log_message(self, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def slow_server() -> Iterator[SlowServer]:
    server = SlowServer()
    yield server
    server.stop()


def _send_from_threads(client: RecordingClient, threads: int, each: int) -> list[BaseException]:
    errors: list[BaseException] = []

    def work() -> None:
        for _ in range(each):
            try:
                client.send("GET", "/x")
            except RequestBudgetExceeded as exc:
                errors.append(exc)

    pool = [threading.Thread(target=work) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return errors


def test_the_client_never_has_more_than_max_in_flight_requests_on_the_wire(slow_server: SlowServer) -> None:
    """Twelve threads send at once; the server sees at most 3 at a time with max_in_flight 3, and more than 1."""
    client = RecordingClient(slow_server.url, redactor=Redactor(), max_in_flight=3)
    try:
        _send_from_threads(client, threads=12, each=2)
    finally:
        client.close()
    assert slow_server.count == 24
    assert 1 < slow_server.most <= 3


def test_one_in_flight_is_one_after_another(slow_server: SlowServer) -> None:
    client = RecordingClient(slow_server.url, redactor=Redactor(), max_in_flight=1)
    try:
        _send_from_threads(client, threads=6, each=2)
    finally:
        client.close()
    assert slow_server.most == 1


def test_threads_sending_at_once_never_pass_the_request_budget(slow_server: SlowServer) -> None:
    """The budget is counted when a request is admitted: 8 threads x 5 requests, a budget of 10, exactly 10 sent."""
    client = RecordingClient(slow_server.url, redactor=Redactor(), max_in_flight=8, max_requests=10)
    try:
        errors = _send_from_threads(client, threads=8, each=5)
    finally:
        client.close()
    assert slow_server.count == 10 and client.request_count == 10
    assert len(errors) == 30


# --------------------------------------------------------------------------- the pool of rows


class FakeContext:
    """Just enough of a TargetContext for ``judge_row``: every check records when it ran."""

    def ensure_can_continue(self) -> None:
        return

    @contextlib.contextmanager
    def judging(self, row: str) -> Iterator[None]:
        yield


def _requirement(rid: str, check: str) -> Requirement:
    return Requirement(
        id=rid, level="MUST", operation="delete", rule="r", source=Source("000", "f"), check=check, vendor="v"
    )


def test_rows_run_at_once_last_rows_after_every_other_and_verdicts_in_row_order(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import conformance.checks as checks
    from conformance.verdicts import CheckFailed, Evidence

    running = 0
    most = 0
    finished: list[str] = []
    lock = threading.Lock()

    def fake_run_check(ctx: Any, requirement: Requirement) -> Evidence:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
            if requirement.check == "last":
                assert len(finished) == 6, "a last row started before every other row was judged"
        time.sleep(0.05)
        with lock:
            running -= 1
            finished.append(requirement.id)
        if requirement.id.endswith("3"):
            raise CheckFailed(f"{requirement.id} broke its rule")
        return Evidence(examined=1, notes=[requirement.id])

    monkeypatch.setattr(checks, "run_check", fake_run_check)
    ctx: Any = FakeContext()
    rows = [Row(("t", f"R{i}"), ctx, _requirement(f"R{i}", "first"), False) for i in range(6)]
    rows += [Row(("t", f"L{i}"), ctx, _requirement(f"L{i}", "last"), True) for i in range(2)]
    judge = RowJudge()
    judge.start({"t": (4, rows)})
    try:
        verdicts = [judge.verdict("t", row.key) for row in rows]
    finally:
        judge.close()
    assert 1 < most <= 4
    assert [v.status if v else None for v in verdicts] == ["passed"] * 3 + ["failed"] + ["passed"] * 4
    assert verdicts[0] is not None and verdicts[0].evidence.notes == ["R0"]
    assert set(finished[-2:]) == {"L0", "L1"}


def test_one_worker_judges_in_place(monkeypatch: pytest.MonkeyPatch) -> None:
    """workers 1: no pool; the pytest item judges its own row (today's behaviour)."""
    judge = RowJudge()
    ctx: Any = FakeContext()
    judge.start({"t": (1, [Row(("t", "R0"), ctx, _requirement("R0", "first"), False)])})
    assert judge.verdict("t", ("t", "R0")) is None


def test_a_crashed_check_is_an_error_verdict(monkeypatch: pytest.MonkeyPatch) -> None:
    import conformance.checks as checks

    def crash(ctx: Any, requirement: Requirement) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(checks, "run_check", crash)
    verdict = judge_row(FakeContext(), _requirement("R0", "first"))  # type: ignore[arg-type]
    assert verdict.status == "error" and verdict.message == "RuntimeError: boom"


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("value", [0, 65, -1, True, 2.5])
def test_a_worker_count_outside_1_to_64_is_a_usage_error(value: Any) -> None:
    with pytest.raises(UsageError, match="--workers: expected an integer from 1 to 64"):
        check_workers(value)
    target = Target(name="t", vendor="baseten", base_url="http://127.0.0.1:1", token_env="T")
    if isinstance(value, int) and not isinstance(value, bool):
        with pytest.raises(UsageError):
            Overrides(workers=value).apply(target)


@pytest.mark.parametrize("value", ["0", "abc", "100"])
def test_the_cli_refuses_a_bad_worker_count_in_one_line(value: str) -> None:
    done = run_cli("run", "--vendor", "baseten", "--workers", value, timeout=60)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "--workers" in lines[0] and "Traceback" not in done.stderr


def test_the_configuration_file_takes_workers_and_refuses_a_bad_count(tmp_path: Path) -> None:
    from conformance.target.config import load_config

    good = tmp_path / "good.toml"
    good.write_text('[targets.a]\nvendor = "baseten"\nbase_url = "http://127.0.0.1:9"\nworkers = 8\n', encoding="utf-8")
    assert load_config(good).target("a").workers == 8
    bad = tmp_path / "bad.toml"
    bad.write_text('[targets.a]\nvendor = "baseten"\nbase_url = "http://127.0.0.1:9"\nworkers = 0\n', encoding="utf-8")
    with pytest.raises(UsageError, match="workers"):
        load_config(bad)


# --------------------------------------------------------------------------- the same verdicts


def _statuses(report_dir: Path) -> dict[str, str]:
    results = json.loads((report_dir / "results.json").read_text(encoding="utf-8"))
    return {f"{r['target']}::{r['requirement']}": r["status"] for r in results["results"]}


def test_rows_judged_at_once_reach_the_verdicts_of_rows_judged_one_by_one(tmp_path: Path) -> None:
    """The embedded Oxen and Baseten mocks, one faulty: --workers 1 and --workers 8 give every row the same status."""
    runs = {}
    for workers in ("1", "8"):
        done = run_cli(
            "run",
            "--vendor",
            "oxen",
            "--vendor",
            "baseten",
            "--fault",
            "oxen-500-on-unknown",
            "--seed",
            "3",
            "--workers",
            workers,
            "--report-dir",
            str(tmp_path / workers),
            "-q",
        )
        assert done.returncode == 1, done.stderr
        runs[workers] = _statuses(tmp_path / workers)
    assert runs["1"] == runs["8"]
    assert "failed" in runs["1"].values()


def test_the_plugin_refuses_a_bad_worker_count_as_a_usage_error(tmp_path: Path) -> None:
    import subprocess
    import sys

    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--pyargs",
            "conformance.run.suite",
            "--conformance-vendor",
            "baseten",
            "--conformance-base-url",
            "http://127.0.0.1:9",
            "--conformance-workers",
            "zero",
            "-p",
            "no:cacheprovider",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        check=False,
    )
    assert done.returncode == 4
    assert "conformance: --conformance-workers: expected an integer from 1 to 64, got 'zero'" in done.stderr
