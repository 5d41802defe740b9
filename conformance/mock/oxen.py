"""Oxen reference server: DELETE /api/ai/models/{id} (seed 003).

Auth (inferred, the page shows none): ``Authorization: Bearer <token>``. Errors (inferred,
OpenAI style): ``{"error": {"message": str, "type": str, "code": str}}``.
Admin routes (no auth, outside the spec): ``POST /__mock__/resources`` with ``{"id": id}``
seeds a custom model (201, or 409 if it exists), ``GET /__mock__/resources`` lists
``{"ids": [...]}`` (including models still being deleted), ``GET /__mock__/health`` answers
``{"status": "ok", "vendor": "oxen"}``.
"""

from __future__ import annotations

import time

from ._common import (
    Authenticator,
    JsonObject,
    MockApp,
    MockOptions,
    MockRequest,
    Reply,
    admin_routes,
    build_app,
    check_faults,
    decode,
    json_response,
    new_store,
    now_iso,
    route,
)

VENDOR = "oxen"

FAULTS: dict[str, str] = {
    "oxen-object-not-model": "delete answers object 'custom_model' instead of 'model'",
    "oxen-created-as-string": "delete answers created as an ISO string instead of a unix integer",
    "oxen-missing-owned-by": "delete answers a model without the required owned_by",
    "oxen-endpoint-outside-enum": "delete answers endpoint '/completions', which is not in its enum",
    "oxen-model-type-outside-enum": "delete answers model_type 'fine-tuned', which is not in its enum",
    "oxen-display-name-null": "delete answers display_name null although it is not nullable",
    "oxen-returns-other-id": "delete answers an id different from the path id",
    "oxen-delete-does-not-delete": "delete answers 200 but the model stays forever",
    "oxen-500-on-unknown": "delete answers 500 instead of 404 for an unknown id",
    "oxen-auth-not-enforced": "delete performs no authentication or permission checks",
}

_VIEW_FAULTS = frozenset(
    {
        "oxen-object-not-model", "oxen-created-as-string", "oxen-missing-owned-by", "oxen-endpoint-outside-enum",
        "oxen-model-type-outside-enum", "oxen-display-name-null", "oxen-returns-other-id",
    }
)  # fmt: skip
_ERRORS = {
    400: ("invalid_request_error", "bad_request"),
    401: ("authentication_error", "invalid_api_key"),
    403: ("permission_error", "insufficient_permissions"),
    404: ("not_found_error", "not_found"),
    405: ("invalid_request_error", "method_not_allowed"),
    409: ("invalid_request_error", "conflict"),
    500: ("server_error", "internal_error"),
}


def build_model(model_id: str, owner: str) -> JsonObject:
    """Build a custom model object with every documented field present."""
    return {
        "created": int(time.time()),
        "id": model_id,
        "object": "model",
        "owned_by": owner,
        "capabilities": {"input": ["text"], "output": ["text"]},
        "deployments": [{"status": "active"}],
        "description": f"Custom model {model_id}",
        "developer": {"logo": "https://hub.oxen.ai/assets/logo.png", "name": owner},
        "display_name": model_id,
        "endpoint": "/chat/completions",
        "fine_tuning": {"actions": ["fine_tune"], "cost_per_second": 0.0},
        "image_url": None,
        "model_type": "custom",
        "pricing": {
            "cost_per_image": 0.0,
            "cost_per_second": 0.0,
            "cost_per_second_high_res": 0.0,
            "cost_per_second_with_audio": 0.0,
            "input_cost_per_token": 0.000001,
            "method": "token",
            "output_cost_per_token": 0.000002,
        },
        "released_at": now_iso(),
        "request_schema": {},
        "source_model": None,
        "summary": None,
    }


def create_app(options: MockOptions | None = None) -> MockApp:
    """Build the Oxen reference app."""
    options = options or MockOptions()
    check_faults(VENDOR, options.faults, FAULTS)
    faults = options.faults
    auth = Authenticator(options, ("bearer",), "Bearer")

    def error(status: int, message: str) -> Reply:
        """Render the inferred OpenAI-style error."""
        kind, code = _ERRORS.get(status, ("invalid_request_error", "error"))
        headers = {"WWW-Authenticate": 'Bearer realm="oxen"'} if status == 401 else None
        return json_response(status, {"error": {"message": message, "type": kind, "code": code}}, headers)

    def seed(model_id: str) -> JsonObject:
        """Build a seeded custom model."""
        return build_model(model_id, options.workspace)

    store = new_store(options, seed)

    def view(model: JsonObject) -> JsonObject:
        """Apply the response faults to a copy of the model."""
        out = dict(model)
        if "oxen-object-not-model" in faults:
            out["object"] = "custom_model"
        if "oxen-created-as-string" in faults:
            out["created"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(out["created"]))
        if "oxen-missing-owned-by" in faults:
            del out["owned_by"]
        if "oxen-endpoint-outside-enum" in faults:
            out["endpoint"] = "/completions"
        if "oxen-model-type-outside-enum" in faults:
            out["model_type"] = "fine-tuned"
        if "oxen-display-name-null" in faults:
            out["display_name"] = None
        if "oxen-returns-other-id" in faults:
            out["id"] = f"{out['id']}-other"
        return out

    async def delete(request: MockRequest) -> Reply:
        """Delete a custom model."""
        model_id: str = request.path_params["id"]
        if "oxen-auth-not-enforced" not in faults:
            status, reason = auth.check(request.header("authorization"), "models:delete")
            if status:
                return error(status, reason)
        if "oxen-delete-does-not-delete" in faults:
            model = store.get(model_id)
        else:
            model = store.delete(model_id, options.delete_delay)
        if model is None:
            if "oxen-500-on-unknown" in faults:
                return error(500, "internal server error")
            return error(404, f"model {model_id} not found")
        if faults & _VIEW_FAULTS:
            return json_response(200, view(decode(model)))
        return Reply(200, model)

    routes = [
        route("/api/ai/models/{id}", delete, "DELETE", error),
        *admin_routes(VENDOR, store, error, seed),
    ]
    return build_app(VENDOR, options, store, routes, error)
