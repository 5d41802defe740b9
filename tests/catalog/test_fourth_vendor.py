"""A fourth vendor as a folder outside the package: judged by `run --vendor-dir` and its fault caught by selftest."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

OPENAPI = """\
openapi: 3.1.0
info: {title: Things API, version: 1.0.0}
servers: [{url: https://things.example}]
paths:
  /v1/things/{thing_id}:
    delete:
      operationId: DeleteThing
      parameters:
        - {name: thing_id, in: path, required: true, schema: {type: string}}
      responses:
        '200':
          description: the deleted thing
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Tombstone'}
components:
  schemas:
    Tombstone:
      type: object
      required: [id, deleted]
      properties:
        id: {type: string}
        deleted: {type: boolean}
"""

VENDOR = """\
title: Things API
prefix: THG
default_base_url: https://things.example
token_env: THINGS_API_KEY
documents: [things-api.md]
auth: {header: Authorization, scheme: Bearer}
error: {documented: false, schema: {type: object}}
operations:
  delete: {method: DELETE, path: "/v1/things/{thing_id}", id_param: thing_id, id_field: id, returns: tombstone}
inferred_statuses:
  delete: {401: "no credentials", 404: "unknown thing"}
derive: {seed: things-api.md}
"""

REQUIREMENTS = """\
requirements:
- id: THG-DELETE-EXISTING-200
  level: MUST
  operation: delete
  rule: Deleting an existing thing is answered 200.
  source: {seed: things-api.md, field: "#/paths/~1v1~1things~1{thing_id}/delete/responses/200"}
  check: status_on
  args: {probe: deleted, status: 200}
- id: THG-DELETE-UNKNOWN-404
  level: SHOULD
  operation: delete
  rule: Deleting an unknown thing is answered 404.
  source: {seed: things-api.md, field: responses (200 only)}
  check: status_on
  args: {probe: unknown, status: 404}
  inferred: true
- id: THG-DELETE-GONE
  level: MUST
  operation: delete
  rule: A deleted thing is gone.
  source: {seed: things-api.md, field: DeleteThing}
  check: gone_after_delete
"""

FAULTS = """\
faults:
  things-deleted-as-string: THG-DELETE-DELETED-TYPE
"""

MOCK = '''\
"""A tiny reference mock for the Things API (the documented plug-in API: conformance.mock._common)."""

from conformance.mock._common import (
    Authenticator, MockOptions, Reply, admin_routes, build_app, check_faults, encode, json_response, new_store, route,
)

VENDOR = "things"
FAULTS = {"things-deleted-as-string": "delete answers deleted as the string 'true'"}


def create_app(options=None):
    options = options or MockOptions()
    check_faults(VENDOR, options.faults, FAULTS)
    auth = Authenticator(options, ("bearer",), "Bearer")

    def error(status, message):
        return json_response(status, {"error": message})

    store = new_store(options, lambda thing_id: {"id": thing_id})

    async def delete(request):
        thing_id = request.path_params["thing_id"]
        status, reason = auth.check(request.header("authorization"), "things:delete", False)
        if status:
            return error(status, reason)
        if store.delete(thing_id, options.delete_delay) is None:
            return error(404, "no such thing")
        deleted = "true" if "things-deleted-as-string" in options.faults else True
        return Reply(200, encode({"id": thing_id, "deleted": deleted}), "application/json")

    routes = [route("/v1/things/{thing_id}", delete, "DELETE", error)]
    routes += admin_routes(VENDOR, store, error, lambda i: {"id": i})
    return build_app(VENDOR, options, store, routes, error)
'''


def _folder(root: Path) -> Path:
    folder = root / "things"
    folder.mkdir()
    for name, text in {
        "openapi.yaml": OPENAPI,
        "vendor.yaml": VENDOR,
        "requirements.yaml": REQUIREMENTS,
        "faults.yaml": FAULTS,
        "mock.py": MOCK,
    }.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONFORMANCE_")}
    return subprocess.run(
        [sys.executable, "-m", "conformance", *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=300
    )


def test_a_fourth_vendor_folder_is_run_with_its_derived_rows_and_selftested(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    report = tmp_path / "report"
    done = _cli("run", "--vendor-dir", str(folder), "--vendor", "things", "--report-dir", str(report), cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    results = {r["requirement"]: r for r in json.loads((report / "results.json").read_text())["results"]}
    derived = {"THG-DELETE-ID-REQUIRED", "THG-DELETE-DELETED-REQUIRED", "THG-DELETE-ID-TYPE", "THG-DELETE-DELETED-TYPE"}
    assert derived <= set(results)
    assert {results[i]["status"] for i in derived} == {"passed"}
    assert (
        results["THG-DELETE-DELETED-TYPE"]["source"]["field"]
        == "#/components/schemas/Tombstone/properties/deleted/type"
    )
    assert results["THG-DELETE-GONE"]["status"] == "passed"

    selftest = _cli(
        "selftest",
        "--vendor-dir",
        str(folder),
        "--vendor",
        "things",
        "--report-dir",
        str(tmp_path / "st"),
        cwd=tmp_path,
    )
    assert selftest.returncode == 0, selftest.stdout + selftest.stderr
    assert "things-deleted-as-string" in selftest.stdout


def test_an_unknown_vendor_is_a_one_line_usage_error(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    done = _cli("run", "--vendor-dir", str(folder), "--vendor", "thngs", "--dry-run", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [done.stderr.strip()]
    assert "unknown vendor 'thngs'" in done.stderr


def test_a_vendor_folder_clashing_with_a_shipped_vendor_is_a_usage_error(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    clash = tmp_path / "baseten"
    folder.rename(clash)
    done = _cli("run", "--vendor-dir", str(clash), "--dry-run", cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert "clashes with" in done.stderr


def test_a_vendor_folder_named_in_conformance_toml_is_found(tmp_path: Path) -> None:
    """``vendor_dirs`` in conformance.toml works like --vendor-dir: its targets validate and plan."""
    (tmp_path / "vendors").mkdir()
    _folder(tmp_path / "vendors")
    (tmp_path / "conformance.toml").write_text(
        'vendor_dirs = ["vendors"]\n\n[targets.mine]\nvendor = "things"\nbase_url = "https://things.example"\n'
        'token_env = "THINGS_TOKEN"\n',
        encoding="utf-8",
    )
    listed = _cli("targets", "--config", str(tmp_path / "conformance.toml"), cwd=tmp_path)
    assert listed.returncode == 0, listed.stdout + listed.stderr
    assert "mine" in listed.stdout and "things" in listed.stdout
    plan = _cli("run", "--config", str(tmp_path / "conformance.toml"), "--target", "mine", "--dry-run", cwd=tmp_path)
    assert plan.returncode == 0, plan.stdout + plan.stderr
    assert "THG-DELETE-GONE" in plan.stdout
    (tmp_path / "conformance.toml").write_text(
        'vendor_dirs = ["nowhere"]\n\n[targets.mine]\nvendor = "things"\nbase_url = "https://things.example"\n',
        encoding="utf-8",
    )
    bad = _cli("targets", "--config", str(tmp_path / "conformance.toml"), cwd=tmp_path)
    assert bad.returncode == 2 and "vendor_dirs: not a folder" in bad.stderr, bad.stderr
