"""Errors of the JSON API as RFC 9457 problem details (``application/problem+json``).

Every error the API answers has ``type``, ``title``, ``status`` and ``detail``; validation
errors add ``errors`` (where and what, never the value sent).
"""

from __future__ import annotations

from typing import Any

from flask import Response, current_app
from werkzeug.http import HTTP_STATUS_CODES

PROBLEM_TYPE = "application/problem+json"
#: Problem types are relative URIs naming the kind of error (RFC 9457 section 3.1.1).
TYPE_BASE = "/api/v1/problems/"


class ApiProblem(Exception):
    """Stop an API call with a problem response."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        kind: str | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.kind = kind
        self.headers = headers or {}
        self.extra = extra


def _kind(status: int) -> str:
    return HTTP_STATUS_CODES.get(status, "error").lower().replace(" ", "-").replace("'", "")


def problem_body(status: int, detail: str, *, kind: str | None = None, **extra: Any) -> dict:
    """The problem details object."""
    return {
        "type": TYPE_BASE + (kind or _kind(status)),
        "title": HTTP_STATUS_CODES.get(status, "Error"),
        "status": status,
        "detail": detail,
        **extra,
    }


def problem_response(
    status: int,
    detail: str,
    *,
    kind: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> Response:
    """A ``application/problem+json`` response."""
    response = current_app.response_class(
        current_app.json.dumps(problem_body(status, detail, kind=kind, **extra)),
        status=status,
        mimetype=PROBLEM_TYPE,
    )
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def from_problem(exc: ApiProblem) -> Response:
    """The response of a raised :class:`ApiProblem`."""
    return problem_response(exc.status, exc.detail, kind=exc.kind, headers=exc.headers, **exc.extra)
