"""The lifecycle walk on a live target whose state cannot be rewound: clear verdicts, never Hypothesis jargon."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conformance.run.servers import BackgroundServer
from tests.helpers import run_cli

TOKEN = "lifecycle-live-token-7d1e"
REQUIREMENT = "BTN-LIFECYCLE-STATE-MACHINE"


class ForgetfulOnce:
    """A Baseten-like delete endpoint whose first deleted model never goes away; later deletes work."""

    def __init__(self, ids: list[str]) -> None:
        self.present = set(ids)
        self.stuck: str | None = None
        self.lock = threading.Lock()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        model_id = scope["path"].rsplit("/", 1)[-1]
        auth = dict(scope["headers"]).get(b"authorization", b"")
        body: dict[str, object]
        with self.lock:
            if auth != f"Api-Key {TOKEN}".encode():
                status, body = 401, {"error": "unauthorized", "message": "bad key"}
            elif scope["method"] != "DELETE" or not scope["path"].startswith("/v1/models/"):
                status, body = 404, {"error": "not_found", "message": "no route"}
            elif model_id not in self.present:
                status, body = 404, {"error": "not_found", "message": "no such model"}
            else:
                if self.stuck is None:
                    self.stuck = model_id  # stays forever
                elif model_id != self.stuck:
                    self.present.discard(model_id)
                status, body = 200, {"id": model_id, "deleted": True}
        data = json.dumps(body).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": data})


@pytest.fixture
def forgetful() -> Iterator[tuple[str, ForgetfulOnce]]:
    ids = [f"walk-{n}" for n in range(12)]
    app = ForgetfulOnce(ids)
    server = BackgroundServer(app).start()
    try:
        yield server.url, app
    finally:
        server.stop()


def _run(url: str, ids: list[str], report: Path) -> dict[str, Any]:
    args = ["run", "--vendor", "baseten", "--base-url", url, "--allow-destructive", "--gone-deadline", "0.3"]
    args += ["--requirement", REQUIREMENT, "--report-dir", str(report), "--seed", "3"]
    for model_id in ids:
        args += ["--disposable-id", model_id]
    done = run_cli(*args, env={"BASETEN_API_KEY": TOKEN})
    assert "Traceback" not in done.stderr, done.stderr
    results = json.loads((report / "results.json").read_text())
    (row,) = [r for r in results["results"] if r["requirement"] == REQUIREMENT]
    return dict(row)


def test_a_failure_seen_in_the_walk_is_the_verdict_even_when_the_replay_differs(
    forgetful: tuple[str, ForgetfulOnce], tmp_path: Path
) -> None:
    url, app = forgetful
    row = _run(url, sorted(app.present), tmp_path / "r")
    assert app.stuck is not None
    assert row["status"] == "failed", row
    assert f"{app.stuck} not gone" in row["message"]


def test_no_disposable_id_left_skips_the_walk_and_says_why(
    forgetful: tuple[str, ForgetfulOnce], tmp_path: Path
) -> None:
    url, _ = forgetful
    row = _run(url, [], tmp_path / "r")
    assert row["status"] == "skipped", row
    assert "--disposable-id" in row["message"]
