"""The JSON API (``/api/v1``) for integrators, on the same services as the web pages.

``bp`` is the blueprint; ``spec`` (SpecTree) validates bodies with the models of
:mod:`app.web.api.schemas` and builds the OpenAPI 3.1 document from the routes. Calls authenticate
with API keys (:mod:`app.web.api.auth`), never cookies, and are exempt from CSRF for that reason.
Errors are RFC 9457 problems (:mod:`app.web.problems`).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, request
from spectree import SecurityScheme, SecuritySchemeData, SpecTree
from spectree.models import SecureType

from app.extensions import csrf
from app.web.access import API_KEY_CHECK
from app.web.api import auth
from app.web.api.schemas import Problem
from app.web.problems import ApiProblem, from_problem, problem_response

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def _refuse_invalid(req: Any, _resp: Any, error: Any, _instance: Any, _adapter: Any) -> None:
    """SpecTree's hook before a view: a body or query that does not validate is a 422 problem
    naming each place (never the value sent); a body that is not JSON is a 400."""
    if error is None:
        return
    if req.method in ("POST", "PUT", "PATCH") and req.get_json(silent=True) is None:
        raise ApiProblem(400, "The body must be a JSON object (Content-Type: application/json).")
    errors = [
        {"location": ".".join(str(part) for part in item.get("loc", ())), "message": item["msg"]}
        for item in error.errors(include_input=False, include_url=False)
    ]
    raise ApiProblem(
        422, "The request does not match the API's schema.", kind="validation", errors=errors
    )


spec = SpecTree(
    "flask",
    mode="strict",
    title="Assenso API",
    version="1",
    description=(
        "Record consent from other channels and ask 'may I contact X for Y?'. "
        "Authenticate with an API key: `Authorization: Bearer ak_...`."
    ),
    before=_refuse_invalid,
    validation_error_model=Problem,
    naming_strategy=lambda model: model.__name__,
    nested_naming_strategy=lambda _parent, child: child,
    security_schemes=[
        SecurityScheme(
            name="apiKey", data=SecuritySchemeData(type=SecureType.HTTP, scheme="bearer")
        ),
    ],
    security={"apiKey": []},
)


# A domain error (bad input, unknown thing, conflict) is answered by the application's one
# handler (:func:`app.web.errors.handle_domain_error`), as a problem under ``/api/``.
bp.register_error_handler(ApiProblem, from_problem)


@bp.before_request
def _json_bodies_only():
    """Bodies are JSON: anything else (a form, a malformed multipart) is a 415 problem before
    any parser reads it."""
    if (
        request.method in ("POST", "PUT", "PATCH")
        and request.content_length
        and not request.is_json
    ):
        return problem_response(415, "Send the body as JSON (Content-Type: application/json).")
    return None


def init_app(app: Flask) -> None:
    """Register the API on ``app``: routes, key check, CSRF exemption, problem responses."""
    csrf.exempt(bp)
    app.register_blueprint(bp)
    app.extensions[API_KEY_CHECK] = auth.check_key
    spec.app = app


from app.web.api import routes  # noqa: E402, F401  (the routes register on ``bp``)
