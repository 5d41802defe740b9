"""New checks fail on small purpose-built servers (a few-line ASGI app each) that break exactly their rule.

Each app is a Baseten-shaped DELETE /v1/models/{model_id} with a tombstone; the suite is run live against it,
restricted to the requirement under test, and must exit 1 with that requirement failed (and 0 on the honest app).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from conformance.run.servers import BackgroundServer
from tests.helpers import run_cli

TOKEN = "cf-test-" + secrets.token_hex(8)
Send = Callable[[dict[str, Any]], Awaitable[None]]


def app_with(flaw: str, ids: set[str]) -> Callable[..., Awaitable[None]]:
    """A Baseten-like app; ``flaw`` names the one rule it breaks ("" for none)."""
    trusted: set[tuple[str, int]] = set()  # connections (client addr) that once sent the right key

    async def app(scope: dict[str, Any], receive: Any, send: Send) -> None:
        assert scope["type"] == "http"
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        auth = headers.get("authorization", "")
        model_id = scope["path"].rsplit("/", 1)[-1]
        conn = tuple(scope.get("client") or ("", 0))
        good = auth == f"Api-Key {TOKEN}"
        if flaw == "prefix-compare":
            good = auth.startswith("Api-Key ") and TOKEN.startswith(auth[8:]) and len(auth) > 12
        if flaw == "case-insensitive-key":
            good = auth.lower() == f"api-key {TOKEN}".lower()
        if flaw == "connection-remembers" and good:
            trusted.add(conn)
        if flaw == "connection-remembers" and conn in trusted:
            good = True
        if flaw == "auth-only-on-unknown" and model_id in ids:
            good = True
        body: dict[str, Any] = {"error": "unauthorized"}
        status = 401
        if good:
            if flaw == "case-insensitive-ids":
                model_id = next((i for i in ids if i.lower() == model_id.lower()), model_id)
            if model_id in ids:
                ids.discard(model_id)
                status, body = 200, {"id": model_id, "deleted": True}
            else:
                status, body = 404, {"error": "not found"}
        payload = json.dumps(body).encode()
        await send(
            {"type": "http.response.start", "status": status, "headers": [(b"content-type", b"application/json")]}
        )
        await send({"type": "http.response.body", "body": payload})

    return app


def run_against(flaw: str, requirement: str, tmp_path: Path) -> tuple[int, dict[str, str]]:
    ids = {f"model-{flaw or 'honest'}-{i}" for i in range(8)}
    server = BackgroundServer(app_with(flaw, set(ids))).start()
    try:
        disposable = [arg for i in sorted(ids) for arg in ("--disposable-id", i)]
        proc = run_cli(
            "run", "--vendor", "baseten", "--base-url", server.url, "--allow-destructive",
            "--requirement", requirement, "--report-dir", str(tmp_path), *disposable,
            env={"BASETEN_API_KEY": TOKEN},
        )  # fmt: skip
    finally:
        server.stop()
    results = json.loads(next(tmp_path.rglob("results.json")).read_text())["results"]
    return proc.returncode, {r["requirement"]: r["status"] for r in results}


@pytest.mark.parametrize(
    ("flaw", "requirement"),
    [
        ("auth-only-on-unknown", "BTN-DELETE-AUTH-NOT-PROCESSED"),
        ("connection-remembers", "BTN-DELETE-AUTH-NOT-PROCESSED"),
        ("prefix-compare", "BTN-DELETE-AUTH-NOT-PROCESSED"),
        ("case-insensitive-key", "BTN-DELETE-AUTH-NOT-PROCESSED"),
        ("case-insensitive-ids", "BTN-DELETE-CASE-SENSITIVE"),
    ],
)
def test_new_check_fails_on_a_server_breaking_its_rule(flaw: str, requirement: str, tmp_path: Path) -> None:
    code, statuses = run_against(flaw, requirement, tmp_path)
    assert statuses.get(requirement) == "failed", statuses
    assert code == 1


@pytest.mark.parametrize("requirement", ["BTN-DELETE-AUTH-NOT-PROCESSED", "BTN-DELETE-CASE-SENSITIVE"])
def test_new_check_passes_on_the_honest_server(requirement: str, tmp_path: Path) -> None:
    code, statuses = run_against("", requirement, tmp_path)
    assert statuses.get(requirement) == "passed", statuses
    assert code == 0
