"""What every web request reports: its id on each log line, its time, failed sign-ins.

Each request gets a fresh id, bound to every log line written while it runs and returned in
the ``X-Request-Id`` header, and ends with one log line (endpoint, never the path: paths carry
tokens) and one observation of ``assenso_http_request_duration_seconds``.
"""

from __future__ import annotations

import logging
import time

from flask import Flask, Response, g, request

from app import logs
from app.observability.metrics import REQUEST_SECONDS, SIGN_IN_FAILURES

log = logging.getLogger("assenso.web")

#: The sign-in forms and whose they are; a POST to them that does not redirect failed.
SIGN_IN_ENDPOINTS = {"auth.customer_login": "customer", "auth.staff_login": "staff"}
#: How a failed sign-in's status reads as a reason.
SIGN_IN_REASONS = {429: "rate_limited", 503: "unavailable"}


def start() -> None:
    """``before_request``: a fresh request id, and the clock."""
    g.request_id = logs.start_request()
    g.request_started = time.perf_counter()


def finish(response: Response) -> Response:
    """``after_request``: the id header, the request's line and time, a failed sign-in."""
    request_id = g.get("request_id")
    if request_id is None:  # an error raised before our first hook ran
        return response
    response.headers["X-Request-Id"] = request_id
    seconds = time.perf_counter() - g.request_started
    endpoint = request.endpoint or "unmatched"
    status = response.status_code
    REQUEST_SECONDS.labels(endpoint, request.method, str(status)).observe(seconds)
    audience = SIGN_IN_ENDPOINTS.get(endpoint)
    if audience and request.method == "POST" and status != 302:
        SIGN_IN_FAILURES.labels(audience, SIGN_IN_REASONS.get(status, "refused")).inc()
    log.info(
        "%s %s %s in %.1f ms",
        request.method,
        endpoint,
        status,
        seconds * 1000,
        extra={"endpoint": endpoint, "status": status, "duration_ms": round(seconds * 1000, 1)},
    )
    return response


def teardown(_exc: BaseException | None) -> None:
    """``teardown_request``: the thread's next lines are no longer this request's."""
    logs.end_request()


def init_app(app: Flask) -> None:
    """Register the hooks; the id is bound before any other hook (CSRF's included) runs."""
    app.before_request_funcs.setdefault(None, []).insert(0, start)
    app.after_request(finish)
    app.teardown_request(teardown)
