"""The OpenAPI 3.1 document of the API and its browsable reference page (vendored Swagger UI)."""

from __future__ import annotations

import copy
from typing import Any

from flask import current_app, render_template

from app.web.access import public
from app.web.api import bp, spec
from app.web.api.idempotency import HEADER
from app.web.api.webhook_events import webhooks_section
from app.web.problems import PROBLEM_TYPE

#: Answers any call may get, besides its own.
COMMON_PROBLEMS = {
    "401": "No API key, or one that is unknown, revoked or expired.",
    "403": "The key lacks the scope this call needs.",
    "404": "The customer (or other thing) named is unknown.",
    "413": "The request is too large.",
    "429": "The key's rate limit was reached (see Retry-After).",
    "503": "A store the call needs is unavailable for a moment (see Retry-After).",
}
_PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}


def _problem_response(description: str) -> dict[str, Any]:
    return {"description": description, "content": {PROBLEM_TYPE: {"schema": _PROBLEM_REF}}}


def _operation(path: str, method: str, operation: dict[str, Any]) -> None:
    responses = operation.setdefault("responses", {})
    for status, response in list(responses.items()):
        if status.isdigit() and int(status) >= 400:
            responses[status] = _problem_response(response.get("description", "Problem"))
    for status, description in COMMON_PROBLEMS.items():
        responses.setdefault(status, _problem_response(description))
    responses.setdefault("400", _problem_response("The request cannot be read."))
    if method == "post":
        for status, description in (
            ("409", "A request with this Idempotency-Key is still being handled."),
            ("415", "The body is not JSON."),
            (
                "422",
                "The body does not match the schema, or the Idempotency-Key was used "
                "with another body.",
            ),
        ):
            responses.setdefault(status, _problem_response(description))
        operation.setdefault("parameters", []).append(
            {
                "name": HEADER,
                "in": "header",
                "required": False,
                "description": (
                    "Makes a retried POST safe: the first answer is repeated while the record "
                    "lasts (`ASSENSO_API_IDEMPOTENCY_RETENTION_HOURS`, 24 by default); after "
                    "that a retry is a new request."
                ),
                "schema": {"type": "string", "minLength": 1, "maxLength": 255},
            }
        )


def openapi() -> dict[str, Any]:
    """The OpenAPI document: SpecTree's, with problem responses, the idempotency header and
    the webhook messages."""
    document = copy.deepcopy(spec.spec)
    document["webhooks"], schemas = webhooks_section()
    document.setdefault("components", {}).setdefault("schemas", {}).update(schemas)
    for path, item in document.get("paths", {}).items():
        for method, operation in item.items():
            if method in ("get", "post", "put", "patch", "delete"):
                _operation(path, method, operation)
    return document


@bp.get("/openapi.json")
@public
def openapi_document():
    """The OpenAPI 3.1 document describing this API."""
    return current_app.json.response(openapi())


@bp.get("/docs")
@public
def reference_page():
    """The browsable API reference (drawn from the document by vendored Swagger UI)."""
    return render_template("api/reference.html")
