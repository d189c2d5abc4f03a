"""Security headers, the Content-Security-Policy, and error pages that leak nothing."""

from __future__ import annotations

import re

from app.web.access import public


def test_every_page_carries_a_strict_content_security_policy(client):
    response = client.get("/")
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert not re.search(r"https?://", csp), "no third-party origin may appear"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Cache-Control"] == "no-store"


def test_pages_load_nothing_from_other_origins(client):
    html = client.get("/").get_data(as_text=True)
    assert not re.search(r'(src|href)="(https?:)?//', html)


def test_not_found_page_is_friendly(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert "There is no page at this address" in response.get_data(as_text=True)


def test_server_errors_show_no_internals(app_factory):
    app = app_factory()

    @app.get("/explode")
    @public
    def explode():
        raise RuntimeError("secret internal detail /etc/passwd")

    response = app.test_client().get("/explode")
    body = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "secret internal detail" not in body
    assert "Traceback" not in body
    assert "Something went wrong" in body


def test_api_errors_are_problem_details(client):
    response = client.get("/api/no-such-thing")
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["status"] == 404


def test_oversized_request_is_refused(client):
    response = client.post("/staff/login", data={"email": "x" * (3 * 1024 * 1024)})
    assert response.status_code == 413


def test_forwarded_headers_count_only_from_trusted_proxies(app_factory):
    @public
    def client_address():
        from flask import request

        return f"{request.remote_addr} {request.scheme}"

    forwarded = {"X-Forwarded-For": "203.0.113.7, 198.51.100.4", "X-Forwarded-Proto": "https"}
    direct = app_factory()
    direct.add_url_rule("/whoami", view_func=client_address)
    answer = direct.test_client().get("/whoami", headers=forwarded)
    assert answer.get_data(as_text=True) == "127.0.0.1 http"
    assert "Strict-Transport-Security" not in answer.headers

    proxied = app_factory(TRUSTED_PROXY_HOPS=1)
    proxied.add_url_rule("/whoami", view_func=client_address)
    answer = proxied.test_client().get("/whoami", headers=forwarded)
    assert answer.get_data(as_text=True) == "198.51.100.4 https"  # the proxy's own entry
    assert answer.headers["Strict-Transport-Security"] == "max-age=63072000"
