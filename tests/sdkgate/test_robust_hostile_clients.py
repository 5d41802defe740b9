"""sdk-gate judges whatever a client sends: hostile bytes are findings with evidence, never a crash."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from conformance.sdkgate import gate
from tests.helpers import run_cli

HEAD = "import os, socket, httpx\nU = os.environ['CONFORMANCE_BASE_URL']\nT = os.environ['CONFORMANCE_TOKEN']\n"
AUTH = "{'Authorization': 'Bearer ' + T, 'Content-Type': 'application/json'}"
CLIENTS: dict[str, tuple[str, int, dict[str, str]]] = {
    # name: (client body, expected gate exit, {requirement: expected status})
    "lone-surrogate": (
        'body = \'{"metadata": {"name": "ab\\\\ud800"}, "spec": {}}\'\n'
        f"httpx.post(U + '/models', content=body.encode(), headers={AUTH})\n"
        'raw = \'{"metadata": {"name": "ab\\ud800"}, "spec": {}}\'.encode(\'utf-8\', \'surrogatepass\')\n'
        f"httpx.post(U + '/models', content=raw, headers={AUTH})\n",
        1,
        {"BLX-CLIENT-NAME-CHARSET": "failed"},
    ),
    "invalid-utf8": (
        f"httpx.post(U + '/models', content=b'\\xff\\xfe{{\"metadata\": 1}}', headers={AUTH})\n",
        1,
        {"BLX-CLIENT-BODY-SCHEMA": "failed"},
    ),
    "binary-body": (
        "headers = {'Authorization': 'Bearer ' + T, 'Content-Type': 'application/octet-stream'}\n"
        "httpx.post(U + '/models', content=bytes(range(256)) * 64, headers=headers)\n",
        1,
        {"BLX-CLIENT-CONTENT-TYPE": "failed", "BLX-CLIENT-BODY-SCHEMA": "failed"},
    ),
    "odd-paths": (
        "for p in ('/models/%ff%fe', '/models/%ed%a0%80', '/models/a%00b', '/models/' + 'x' * 5000):\n"
        f"    httpx.delete(U + p, headers={AUTH})\n",
        0,  # no client requirement speaks of delete path characters: judged, recorded, nothing broken
        {"BLX-CLIENT-PATH-PARAMS": "passed", "BLX-CLIENT-PATH": "passed"},
    ),
    "huge-header": (
        f"httpx.post(U + '/models', json={{'metadata': {{'name': 'ok'}}, 'spec': {{}}}}, "
        f"headers={{**{AUTH}, 'X-Big': 'a' * 60000}})\n",
        0,
        {"BLX-CLIENT-BODY-SCHEMA": "passed"},
    ),
    "raw-garbage": (
        "host, port = os.environ['CONFORMANCE_MOCK_URL'].rsplit(':', 1)\n"
        "s = socket.create_connection((host.split('//')[1], int(port)))\n"
        "s.sendall(b'\\x00\\x01\\x02 not http at all\\r\\n\\r\\n'); s.recv(100)\n"
        "s = socket.create_connection((host.split('//')[1], int(port)))\n"
        "s.sendall(b'GET /v0/models HTTP/1.1\\r\\nX: ' + b'a' * 70000 + b'\\r\\n\\r\\n'); print(s.recv(40))\n",
        3,
        {},
    ),
}


def _gate(tmp_path: Path, name: str, source: str) -> tuple[Any, dict[str, Any]]:
    client = tmp_path / f"{name}.py"
    client.write_text(HEAD + source, encoding="utf-8")
    report = tmp_path / "report"
    result = run_cli("sdk-gate", "--vendor", "blaxel", "--report-dir", str(report), "--", sys.executable, str(client))
    data = json.loads((report / "results.json").read_bytes().decode("utf-8"))
    return result, data


@pytest.mark.parametrize("name", list(CLIENTS))
def test_a_hostile_client_is_judged_and_the_results_are_written(tmp_path: Path, name: str) -> None:
    source, code, expected = CLIENTS[name]
    result, data = _gate(tmp_path, name, source)
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == code, result.stdout + result.stderr
    statuses = {r["requirement"]: r["status"] for r in data["results"]}
    assert len(statuses) >= 10, statuses
    for requirement, status in expected.items():
        assert statuses[requirement] == status, (requirement, statuses)
    for row in data["results"]:  # evidence, when something failed
        if row["status"] == "failed":
            assert row["evidence"]["violations"] and row["evidence"]["exchanges"], row
    (tmp_path / "report" / "summary.md").read_text(encoding="utf-8")
    (tmp_path / "report" / "junit.xml").read_text(encoding="utf-8")


def test_a_lone_surrogate_is_shown_as_a_visible_escape(tmp_path: Path) -> None:
    _, data = _gate(tmp_path, "surrogate", CLIENTS["lone-surrogate"][0])
    row = next(r for r in data["results"] if r["requirement"] == "BLX-CLIENT-NAME-CHARSET")
    assert "ab\\ud800" in row["message"], row["message"]


def test_visible_replaces_lone_surrogates_everywhere() -> None:
    value = {"k\udc00": ["a\ud800b", {"x": "\udfff"}], "n": 1}
    assert gate.visible(value) == {"k\\udc00": ["a\\ud800b", {"x": "\\udfff"}], "n": 1}
    json.dumps(gate.visible(value), ensure_ascii=False).encode("utf-8")


def test_read_traffic_survives_bytes_that_are_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "traffic.jsonl"
    path.write_bytes(
        b'{"seq": 1, "path": "/a\xff"}\n\xfe\xfe\n[1]\n{"seq": 2, "name": "\\ud800"}\n' + b"[" * 100_000 + b"\n"
    )
    records = gate.read_traffic(path)
    assert [r["seq"] for r in records] == [1, 2]
    assert records[1]["name"] == "\\ud800"


def _request(tmp_path: Path) -> gate.GateRequest:
    client = tmp_path / "client.py"
    client.write_text(HEAD + f"httpx.delete(U + '/models/x', headers={AUTH})\n", encoding="utf-8")
    return gate.GateRequest(vendor="blaxel", command=[sys.executable, str(client)], report_dir=tmp_path / "r")


def test_a_judging_error_is_an_error_result_and_exit_3(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object) -> object:
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(gate, "_judge", broken)
    outcome = gate.run_gate(_request(tmp_path))
    assert outcome.exit_code == 3
    assert {r.status for r in outcome.results.results} == {"error"}
    data = json.loads((tmp_path / "r" / "results.json").read_text(encoding="utf-8"))
    assert all("judging the recorded traffic broke: RecursionError" in r["message"] for r in data["results"])


def test_results_are_written_even_when_the_reports_break(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object) -> None:
        (tmp_path / "r" / "results.json").write_text("", encoding="utf-8")  # as a crash half-way would leave it
        raise UnicodeEncodeError("utf-8", "\ud800", 0, 1, "surrogates not allowed")

    monkeypatch.setattr(gate, "write_reports", broken)
    outcome = gate.run_gate(_request(tmp_path))
    assert outcome.exit_code == 3
    assert any("writing the reports broke" in reason for reason in outcome.reasons)
    data = json.loads((tmp_path / "r" / "results.json").read_text(encoding="ascii"))
    assert data["format"] == "conformance-results" and data["results"]
