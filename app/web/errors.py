"""Error responses, in one place: HTTP errors, domain errors and anything unexpected.

A view lets a domain error (:class:`app.errors.AssensoError`) through unless it re-renders a
form with the message; :func:`handle_domain_error` answers with the error's status (400, 404,
409) and its message, which the domain writes to be shown. Responses are JSON for the API
(``/api/``) and for clients that prefer it, else the HTML error page; nothing leaks internals.
"""

from __future__ import annotations

from typing import NoReturn

from flask import Flask, current_app, jsonify, render_template, request
from flask_babel import gettext
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import BadRequest, HTTPException, InternalServerError, MethodNotAllowed

from app.errors import AssensoError
from app.extensions import db
from app.web.problems import problem_response

MESSAGES = {
    400: "The request could not be understood. Please check what you sent and try again.",
    401: "Please sign in to continue.",
    403: "You do not have access to this page.",
    404: "There is no page at this address.",
    405: "This page does not accept that kind of request.",
    413: "What you sent is too large.",
    429: "Too many attempts. Please wait a minute and try again.",
    500: "Something went wrong on our side. It has been logged; please try again later.",
}


def wants_json() -> bool:
    """True for API calls and clients that prefer JSON to HTML."""
    if request.path.startswith("/api/"):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


def render_error(status: int, detail: str | None = None):
    """The error response for ``status``, as JSON or as the HTML error page."""
    message = detail or MESSAGES.get(status, MESSAGES[500])
    if request.path.startswith("/api/"):
        return problem_response(status, message), status
    if wants_json():
        return jsonify(error={"status": status, "message": message}), status
    # In the visitor's language where the catalogue has it; a plain string, so the page
    # escapes it (a template's _() would mark it safe).
    shown = gettext(message)
    return render_template("errors/error.html", status=status, message=shown), status


def bad_request(message: str) -> NoReturn:
    """Stop the request with a 400 whose ``message`` (written for the user) is shown."""
    exc = BadRequest(description=message)
    exc.assenso_public = True  # type: ignore[attr-defined]
    raise exc


def handle_http_exception(exc: HTTPException):
    """Map any HTTP exception to our page; the description is shown only for 400s we raise."""
    status = exc.code or 500
    detail = exc.description if status == 400 and getattr(exc, "assenso_public", False) else None
    if isinstance(exc, CSRFError):
        detail = "Your form expired or was sent from elsewhere. Please reload the page and retry."
    body, code = render_error(status, detail)
    response = current_app.make_response((body, code))
    if isinstance(exc, MethodNotAllowed) and exc.valid_methods:
        response.headers["Allow"] = ", ".join(sorted(exc.valid_methods))  # RFC 9110 15.5.6
    return response


def handle_domain_error(exc: AssensoError):
    """A domain error no view handled: the request's unfinished transaction is rolled back and
    the error's status and message (translated when a translation exists) are shown."""
    db.session.rollback()
    return render_error(exc.status, gettext(str(exc)) if str(exc) else None)


def handle_unexpected(exc: Exception):
    """Log the exception server-side (type and place, no values) and show a plain 500 page."""
    if isinstance(exc, HTTPException):
        return handle_http_exception(exc)
    current_app.logger.exception("unhandled %s on %s", exc.__class__.__name__, request.endpoint)
    return render_error(InternalServerError.code)


def init_app(app: Flask) -> None:
    """Register the error handlers on ``app``."""
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(AssensoError, handle_domain_error)
    app.register_error_handler(Exception, handle_unexpected)
