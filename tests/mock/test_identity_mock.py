"""The mocks keep one workspace per credential when given a second token (``MockOptions.other_token``).

Each token is its own workspace/account with its own store: Blaxel's 409 is only within a workspace, a delete finds
only the caller's resources (another workspace's id answers 404 like an unknown one). The isolation faults break it.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable
from typing import Any

import pytest

from conformance.mock import MockOptions, create_app

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

TOKEN = "identity-main-token-1a2b"
OTHER = "identity-other-token-9f8e"
SCHEME = {"blaxel": "Bearer", "oxen": "Bearer", "baseten": "Api-Key"}
DELETE_PATH = {"blaxel": "/v0/models/{}", "oxen": "/api/ai/models/{}", "baseten": "/v1/models/{}"}
VENDORS = tuple(SCHEME)


def _client(vendor: str, *faults: str, other: str | None = OTHER) -> TestClient:
    options = MockOptions(token=TOKEN, other_token=other, faults=frozenset(faults), seed_ids=("seeded",))
    return TestClient(create_app(vendor, options))


def _auth(vendor: str, token: str) -> dict[str, str]:
    return {"Authorization": f"{SCHEME[vendor]} {token}"}


def _delete(c: TestClient, vendor: str, ident: str, token: str) -> int:
    return int(c.delete(DELETE_PATH[vendor].format(ident), headers=_auth(vendor, token)).status_code)


def _create(c: TestClient, name: str, token: str) -> int:
    body = json.dumps({"metadata": {"name": name}, "spec": {}})
    return int(c.post("/v0/models", content=body, headers=_auth("blaxel", token)).status_code)


# Probes of the isolation faults, merged into tests/mock/test_mock.py's PROBES (its clients carry OTHER_TOKEN).
OTHER_TOKEN = OTHER


def _other_deletes_seeded(vendor: str) -> Callable[[TestClient], Any]:
    """(the second identity's DELETE of the first's seeded model, the first's DELETE of it afterwards)."""
    return lambda c: (_delete(c, vendor, "seeded", OTHER), _delete(c, vendor, "seeded", "conformance-local-token"))


IDENTITY_PROBES: dict[str, dict[str, tuple[Callable[[TestClient], Any], Any]]] = {
    "blaxel": {
        "blaxel-shared-namespace": (lambda c: _create(c, "seeded", OTHER), 409),
        "blaxel-cross-tenant-delete": (_other_deletes_seeded("blaxel"), (200, 404)),
    },
    "oxen": {"oxen-cross-tenant-delete": (_other_deletes_seeded("oxen"), (200, 404))},
    "baseten": {"baseten-cross-tenant-delete": (_other_deletes_seeded("baseten"), (200, 404))},
}


@pytest.mark.parametrize("vendor", VENDORS)
def test_the_other_token_is_its_own_workspace(vendor: str) -> None:
    c = _client(vendor)
    assert _delete(c, vendor, "seeded", OTHER) == 404  # the first workspace's model: unknown to the second
    assert _delete(c, vendor, "seeded", TOKEN) == 200  # and still there for its owner
    assert _delete(c, vendor, "seeded", TOKEN) == 404


def test_blaxel_names_are_unique_only_within_a_workspace() -> None:
    c = _client("blaxel")
    assert _create(c, "shared-name", TOKEN) == 200
    assert _create(c, "shared-name", OTHER) == 200  # another workspace: no 409
    assert _create(c, "shared-name", OTHER) == 409  # within its own workspace: 409
    assert _delete(c, "blaxel", "shared-name", OTHER) == 200  # deletes the second workspace's model only
    assert _delete(c, "blaxel", "shared-name", OTHER) == 404
    assert _create(c, "shared-name", TOKEN) == 409  # the first's is untouched
    assert c.get("/__mock__/resources").json()["ids"] == ["seeded", "shared-name"]  # the admin route: the first's


def test_the_second_workspace_names_its_own_workspace() -> None:
    c = _client("blaxel")
    body = json.dumps({"metadata": {"name": "m1"}, "spec": {}})
    first = c.post("/v0/models", content=body, headers=_auth("blaxel", TOKEN)).json()
    second = c.post("/v0/models", content=body, headers=_auth("blaxel", OTHER)).json()
    assert first["metadata"]["workspace"] != second["metadata"]["workspace"]


@pytest.mark.parametrize("vendor", VENDORS)
def test_without_a_second_token_other_tokens_are_refused(vendor: str) -> None:
    c = _client(vendor, other=None)
    assert _delete(c, vendor, "seeded", OTHER) == 401


def test_shared_namespace_lets_the_second_identity_delete_the_first_ones_model() -> None:
    c = _client("blaxel", "blaxel-shared-namespace")
    assert _create(c, "m1", TOKEN) == 200
    assert _create(c, "m1", OTHER) == 409
    assert _delete(c, "blaxel", "m1", OTHER) == 200
    assert _create(c, "m1", TOKEN) == 200  # the first's model was deleted by the second identity


@pytest.mark.parametrize("vendor", VENDORS)
def test_the_isolation_faults_change_behaviour(vendor: str) -> None:
    for fault, (probe, faulty) in IDENTITY_PROBES[vendor].items():
        main = "conformance-local-token"
        options = MockOptions(token=main, other_token=OTHER, seed_ids=("seeded",))
        assert probe(TestClient(create_app(vendor, options))) != faulty, fault
        options = MockOptions(token=main, other_token=OTHER, faults=frozenset({fault}), seed_ids=("seeded",))
        assert probe(TestClient(create_app(vendor, options))) == faulty, fault
