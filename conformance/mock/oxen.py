"""Oxen reference server: DELETE /api/ai/models/{id} (seed 003).

Auth (inferred, the page shows none): ``Authorization: Bearer <token>``. Errors (inferred,
OpenAI style): ``{"error": {"message": str, "type": str, "code": str}}``.
Admin routes (no auth, outside the spec): ``POST /__mock__/resources`` with ``{"id": id}``
seeds a custom model (201, or 409 if it exists), ``GET /__mock__/resources`` lists
``{"ids": [...]}`` (including models still being deleted), ``GET /__mock__/health`` answers
``{"status": "ok", "vendor": "oxen"}``.
"""

from __future__ import annotations

import re
import time
import zlib

from ._common import (
    COMMON_QUIRKS,
    Authenticator,
    JsonObject,
    MockApp,
    MockOptions,
    MockRequest,
    Reply,
    Workspaces,
    admin_routes,
    build_app,
    check_faults,
    check_quirks,
    decode,
    encode,
    html_response,
    json_response,
    new_store,
    now_iso,
    parse_authorization,
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
    "oxen-missing-id": "delete answers a model without the required id",
    "oxen-missing-created": "delete answers a model without the required created",
    "oxen-missing-object": "delete answers a model without the required object",
    "oxen-id-as-integer": "delete answers id as the model's internal integer key instead of a string",
    "oxen-owned-by-null": "delete answers owned_by null although it is a non-nullable string",
    "oxen-description-not-string": "delete answers description as an object {text} instead of a string or null",
    "oxen-deployment-status-outside-enum": "delete answers deployments[].status 'deleted', which is not in its enum",
    "oxen-pricing-method-outside-enum": "delete answers pricing.method 'per_token', which is not in its enum",
    "oxen-delete-204": "delete answers 204 without a body instead of 200 with the deleted model",
    "oxen-delete-text-plain": "delete answers its 200 JSON body with content-type text/plain",
    "oxen-html-404": "404 answers are text/html pages instead of JSON",
    "oxen-accepts-any-token": "delete accepts any well-formed Bearer token, valid or not",
    "oxen-pricing-cost-as-string": "delete answers pricing.input_cost_per_token as a string",
    "oxen-500-on-odd-id": "delete answers 500 when the id has a character outside [A-Za-z0-9_-]",
    "oxen-cross-tenant-delete": "a delete of another account's model id (another token's) deletes it",
}

QUIRKS: dict[str, str] = {
    **COMMON_QUIRKS,
    "bearer-required": "delete requires Authorization: Bearer although the page shows no auth (as the default mock)",
    "minimal-answers": "the deleted model carries only the required created, id, object and owned_by",
    "detail-errors": 'errors are {"detail": "..."} (FastAPI style): the page documents no error shape',
    "oxen-null-optionals": "every member the page marks nullable is null (description, fine_tuning …), deployments []",
}
# the members seed 003 renders as "string | null", and fine_tuning ("or null if model is not fine-tuneable")
_NULLABLE = ("description", "fine_tuning", "image_url", "released_at", "source_model", "summary")

_VIEW_FAULTS = frozenset(
    {
        "oxen-object-not-model", "oxen-created-as-string", "oxen-missing-owned-by", "oxen-endpoint-outside-enum",
        "oxen-model-type-outside-enum", "oxen-display-name-null", "oxen-returns-other-id", "oxen-missing-id",
        "oxen-missing-created", "oxen-missing-object", "oxen-id-as-integer", "oxen-owned-by-null",
        "oxen-description-not-string", "oxen-deployment-status-outside-enum", "oxen-pricing-method-outside-enum",
        "oxen-pricing-cost-as-string",
    }
)  # fmt: skip
_ERRORS = {
    400: ("invalid_request_error", "bad_request"),
    401: ("authentication_error", "invalid_api_key"),
    403: ("permission_error", "insufficient_permissions"),
    404: ("not_found_error", "not_found"),
    405: ("invalid_request_error", "method_not_allowed"),
    409: ("invalid_request_error", "conflict"),
    429: ("rate_limit_error", "rate_limit_exceeded"),
    500: ("server_error", "internal_error"),
    503: ("server_error", "service_unavailable"),
}
_REQUIRED = ("created", "id", "object", "owned_by")


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


def _is_bearer(header: str | None) -> bool:
    """Whether header is a well-formed Bearer credential, whatever the token."""
    parsed = parse_authorization(header)
    return parsed is not None and parsed[0] == "bearer"


def create_app(options: MockOptions | None = None) -> MockApp:
    """Build the Oxen reference app."""
    options = options or MockOptions()
    check_faults(VENDOR, options.faults, FAULTS)
    check_quirks(VENDOR, options.quirks, QUIRKS)
    faults = options.faults
    quirks = options.quirks
    minimal_answers = "minimal-answers" in quirks
    auth = Authenticator(options, ("bearer",), "Bearer")
    deleted_media = "text/plain" if "oxen-delete-text-plain" in faults else "application/json"

    def error(status: int, message: str) -> Reply:
        """Render the inferred OpenAI-style error."""
        kind, code = _ERRORS.get(status, ("invalid_request_error", "error"))
        headers = {"WWW-Authenticate": 'Bearer realm="oxen"'} if status == 401 else None
        if status == 404 and "oxen-html-404" in faults:
            return html_response(status, message, headers)
        if "detail-errors" in quirks:
            return json_response(status, {"detail": message}, headers)
        return json_response(status, {"error": {"message": message, "type": kind, "code": code}}, headers)

    def shaped(model: JsonObject) -> JsonObject:
        """The model as this server answers it (minimal-answers: the required members only; null-optionals)."""
        if "oxen-null-optionals" in quirks:
            model = {**model, **dict.fromkeys(_NULLABLE), "deployments": []}
        return {k: model[k] for k in _REQUIRED} if minimal_answers else model

    def seed(model_id: str) -> JsonObject:
        """Build a seeded custom model."""
        return shaped(build_model(model_id, options.workspace))

    def foreign(model_id: str) -> JsonObject:
        """Build another user's custom model (foreign-models)."""
        return shaped(build_model(model_id, "team-a"))

    store = new_store(options, seed, foreign)
    workspaces = Workspaces(options, store)

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
        if "oxen-id-as-integer" in faults:
            out["id"] = zlib.crc32(str(out["id"]).encode())
        if "oxen-owned-by-null" in faults:
            out["owned_by"] = None
        if "oxen-description-not-string" in faults:
            out["description"] = {"text": out.get("description")}
        if "oxen-deployment-status-outside-enum" in faults:
            out["deployments"] = [{**d, "status": "deleted"} for d in out.get("deployments") or []]
        if "oxen-pricing-cost-as-string" in faults and isinstance(out.get("pricing"), dict):
            out["pricing"] = {**out["pricing"], "input_cost_per_token": "0.000001"}
        if "oxen-pricing-method-outside-enum" in faults and isinstance(out.get("pricing"), dict):
            out["pricing"] = {**out["pricing"], "method": "per_token"}
        for key, fault in (
            ("id", "oxen-missing-id"),
            ("created", "oxen-missing-created"),
            ("object", "oxen-missing-object"),
        ):
            if fault in faults:
                out.pop(key, None)
        return out

    async def delete(request: MockRequest) -> Reply:
        """Delete a custom model."""
        model_id: str = request.path_params["id"]
        if "oxen-500-on-odd-id" in faults and re.search(r"[^A-Za-z0-9_-]", model_id):
            return error(500, "internal server error")
        if "oxen-auth-not-enforced" not in faults:
            header = request.header("authorization")
            status, reason = auth.check(header, "models:delete")
            if status == 401 and "oxen-accepts-any-token" in faults and _is_bearer(header):
                status = 0
            if status:
                return error(status, reason)
        own = workspaces.of(request.header("authorization"))
        if "oxen-delete-does-not-delete" in faults:
            model = own.get(model_id)
        else:
            model = own.delete(model_id, options.delete_delay)
        other = workspaces.others(own) if "oxen-cross-tenant-delete" in faults else None
        if model is None and other is not None:
            model = other.delete(model_id, options.delete_delay)
        if model is None:
            if "oxen-500-on-unknown" in faults:
                return error(500, "internal server error")
            return error(404, f"model {model_id} not found")
        if "oxen-delete-204" in faults:
            reply = Reply(204, b"")
            reply.raw_headers = []
            return reply
        if faults & _VIEW_FAULTS:
            return Reply(200, encode(view(decode(model))), deleted_media)
        return Reply(200, model, deleted_media)

    routes = [
        route("/api/ai/models/{id}", delete, "DELETE", error),
        *admin_routes(VENDOR, store, error, seed),
    ]
    return build_app(VENDOR, options, store, routes, error)
