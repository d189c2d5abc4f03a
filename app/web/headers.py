"""Security headers on every response, with a strict Content-Security-Policy; which proxies'
forwarded headers are believed."""

from __future__ import annotations

from flask import Flask, Response, request
from werkzeug.middleware.proxy_fix import ProxyFix

from app.settings import current_settings

#: Nothing is loaded from any origin but our own: no CDN, no fonts, no analytics.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

STATIC_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), interest-cohort=()",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}


def add_security_headers(response: Response) -> Response:
    """``after_request`` hook adding the headers; pages with personal data are not cached."""
    for name, value in STATIC_HEADERS.items():
        response.headers.setdefault(name, value)
    if request.scheme == "https":
        response.headers.setdefault("Strict-Transport-Security", "max-age=63072000")
    if not request.path.startswith("/static/"):
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def trust_proxies(app: Flask) -> None:
    """Believe ``X-Forwarded-For`` and ``X-Forwarded-Proto`` from the configured number of
    proxy hops in front of the app, and from nobody when it is 0 (the default).

    The client sets these headers at will; only the values appended by our own proxies may
    decide the client address (rate limits, evidence) and whether the request came by HTTPS.
    """
    hops = current_settings(app).trusted_proxy_hops
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]  # Flask's documented way to wrap it


def init_app(app: Flask) -> None:
    """Register the security headers on ``app`` and trust the configured proxies only."""
    trust_proxies(app)
    app.after_request(add_security_headers)
