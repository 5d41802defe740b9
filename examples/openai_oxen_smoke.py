"""Smoke test of the openai SDK against Oxen's model API: `conformance sdk-gate --vendor oxen -- python THIS`.

Oxen documents its model object as OpenAI-compatible and has no SDK call for deleting a custom model, so the
closest real client is ``openai.OpenAI(base_url=".../api/ai").models.delete(id)``. Deletes the first seeded
model ($CONFORMANCE_SEED_IDS) with $CONFORMANCE_TOKEN as the API key. Exits non-zero when the call fails.
"""

from __future__ import annotations

import os

import openai


def main() -> None:
    """Delete one seeded model and check the reply names it."""
    model_id = os.environ["CONFORMANCE_SEED_IDS"].split(",")[0]
    client = openai.OpenAI(
        api_key=os.environ["CONFORMANCE_TOKEN"], base_url=os.environ["CONFORMANCE_BASE_URL"] + "/api/ai", max_retries=0
    )
    deleted = client.models.delete(model_id)
    print(f"delete {model_id}: {deleted!r}")
    assert deleted.id == model_id


if __name__ == "__main__":
    main()
