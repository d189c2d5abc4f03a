"""Error pages for 400/401/403/404/405/413/429/500 that never leak internals."""

from __future__ import annotations

from typing import NoReturn

from flask import Flask, current_app, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import BadRequest, HTTPException, InternalServerError, MethodNotAllowed

from app.api.problems import problem_response

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
    return render_template("errors/error.html", status=status, message=message), status


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


def handle_unexpected(exc: Exception):
    """Log the exception server-side (type and place, no values) and show a plain 500 page."""
    from flask import current_app

    if isinstance(exc, HTTPException):
        return handle_http_exception(exc)
    current_app.logger.exception("unhandled %s on %s", exc.__class__.__name__, request.endpoint)
    return render_error(InternalServerError.code)


def init_app(app: Flask) -> None:
    """Register the error handlers on ``app``."""
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(Exception, handle_unexpected)
