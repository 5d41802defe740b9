"""A hand-made Blaxel client (plain httpx) for `conformance sdk-gate --vendor blaxel -- python THIS [MODE]`.

Modes (default ``uppercase``):
  good         create and delete a model exactly as documented (the gate passes)
  uppercase    create a model named "MyModel": the name rule allows lowercase only (BLX-CLIENT-NAME-CHARSET)
  readonly     create a model sending read-only members status and metadata.createdAt (a SHOULD finding)
  text-plain   send the create body as text/plain (BLX-CLIENT-CONTENT-TYPE)
  alias        authenticate with X-Blaxel-Authorization, as the blaxel SDK does (a SHOULD finding; 401 under --strict)
  basic        authenticate with 'Authorization: Basic …' (BLX-CLIENT-AUTH-SCHEME)
  wrong-path   delete through an undocumented path (BLX-CLIENT-PATH)
It checks the replies as a careful client would (status, and the Status enum of a 200) and exits 1 when one
is not what the contract promises, so a mock fault makes it fail.
"""

from __future__ import annotations

import json
import os
import secrets
import sys

import httpx

STATUSES = {
    "DELETING", "TERMINATED", "FAILED", "DEACTIVATED", "DEACTIVATING", "UPLOADING", "BUILDING", "DEPLOYING",
    "DEPLOYED", "BUILT",
}  # fmt: skip


def expect(response: httpx.Response, status: int) -> None:
    """Exit 1 unless the reply has the expected status and, for a 200, a Model with a known status."""
    print(f"{response.request.method} {response.request.url.path} -> {response.status_code}")
    if response.status_code != status:
        sys.exit(f"expected {status}, got {response.status_code}: {response.text[:200]}")
    if status == 200:
        model = response.json()
        if "metadata" not in model or "spec" not in model:
            sys.exit(f"the Model lacks metadata or spec: {response.text[:200]}")
        if "status" in model and model["status"] not in STATUSES:
            sys.exit(f"the Model's status {model['status']!r} is not one of the documented statuses")


def main(mode: str) -> None:
    """Talk to $CONFORMANCE_BASE_URL as the chosen mode says."""
    base = os.environ["CONFORMANCE_BASE_URL"]
    token = os.environ["CONFORMANCE_TOKEN"]
    headers = {"Authorization": f"Bearer {token}"}
    if mode == "alias":
        headers = {"X-Blaxel-Authorization": f"Bearer {token}", "X-Blaxel-Workspace": "conformance"}
    elif mode == "basic":
        headers = {"Authorization": f"Basic {token}"}
    name = f"handmade-{secrets.token_hex(3)}"
    with httpx.Client(base_url=base, headers=headers, timeout=10) as client:
        if mode == "uppercase":
            expect(client.post("/models", json={"metadata": {"name": "MyModel"}, "spec": {}}), 400)
            return
        if mode == "text-plain":
            text = json.dumps({"metadata": {"name": name}, "spec": {}})
            expect(client.post("/models", content=text, headers={"Content-Type": "text/plain"}), 400)
            return
        if mode == "basic":
            expect(client.delete(f"/models/{name}"), 401)
            return
        body: dict[str, object] = {"metadata": {"name": name}, "spec": {"enabled": True}}
        if mode == "readonly":
            metadata = {"name": name, "createdAt": "2025-01-15T10:30:00Z"}
            body = {"metadata": metadata, "spec": {}, "status": "DEPLOYED"}
        expect(client.post("/models", json=body), 200)
        if mode == "wrong-path":
            expect(client.delete(f"/model/{name}"), 404)
        expect(client.delete(f"/models/{name}"), 200)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "uppercase")
