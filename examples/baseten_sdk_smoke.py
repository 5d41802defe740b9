"""Smoke test of the baseten SDK (0.13.x) for `conformance sdk-gate --vendor baseten -- python THIS`.

Deletes the first seeded model ($CONFORMANCE_SEED_IDS) with ``ManagementClient(...).api.delete_models``
against $CONFORMANCE_BASE_URL, with $CONFORMANCE_TOKEN as the API key. Exits non-zero when the call fails.
"""

from __future__ import annotations

import os

from baseten.client import ManagementClient


def main() -> None:
    """Delete one seeded model and check its tombstone."""
    model_id = os.environ["CONFORMANCE_SEED_IDS"].split(",")[0]
    with ManagementClient(
        api_key=os.environ["CONFORMANCE_TOKEN"], base_url_override=os.environ["CONFORMANCE_BASE_URL"]
    ) as management:
        tombstone = management.api.delete_models(model_id=model_id)
    print(f"delete {model_id}: {tombstone!r}")
    assert tombstone.id == model_id and tombstone.deleted is True


if __name__ == "__main__":
    main()
