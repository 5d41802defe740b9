"""Smoke test of the blaxel SDK (0.4.x) for `conformance sdk-gate --vendor blaxel -- python THIS`.

Creates a model with ``create_model.sync_detailed`` and deletes it with ``delete_model.sync_detailed``, as a new
user of the SDK would, against $CONFORMANCE_BASE_URL (the mock's ``…/v0``) with $CONFORMANCE_TOKEN as the API key.
Exits non-zero (an exception or a failed assertion) when a call does not succeed.
"""

from __future__ import annotations

import os
import secrets

# The SDK reads its credentials when it is imported.
os.environ["BL_API_KEY"] = os.environ["CONFORMANCE_TOKEN"]
os.environ.setdefault("BL_WORKSPACE", "conformance")
os.environ.setdefault("DO_NOT_TRACK", "1")

from blaxel.core.client import client
from blaxel.core.client.api.models import create_model, delete_model
from blaxel.core.client.models import Metadata, Model, ModelSpec


def main() -> None:
    """Create, then delete, one model."""
    api = client.with_base_url(os.environ["CONFORMANCE_BASE_URL"])
    name = f"sdk-smoke-{secrets.token_hex(3)}"
    created = create_model.sync_detailed(client=api, body=Model(metadata=Metadata(name=name), spec=ModelSpec()))
    print(f"create {name}: HTTP {created.status_code}, status {getattr(created.parsed, 'status', None)}")
    assert created.status_code == 200, created.content[:300]
    assert isinstance(created.parsed, Model) and created.parsed.metadata.name == name
    deleted = delete_model.sync_detailed(name, client=api)
    print(f"delete {name}: HTTP {deleted.status_code}, status {getattr(deleted.parsed, 'status', None)}")
    assert deleted.status_code == 200, deleted.content[:300]
    assert isinstance(deleted.parsed, Model) and deleted.parsed.metadata.name == name


if __name__ == "__main__":
    main()
