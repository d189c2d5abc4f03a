"""Helpers for web tests: CSRF tokens from real pages, signing in through the forms."""

from __future__ import annotations

import re
from dataclasses import replace

from flask import Flask
from flask.testing import FlaskClient

from app.settings import attach, current_settings

CSRF_RE = re.compile(
    r'name="csrf_token" type="hidden" value="([^"]+)"|'
    r'name="csrf_token" value="([^"]+)"'
)


def change_settings(app: Flask, **changes: object) -> None:
    """Replace some settings of a running ``app`` (tests of a setting's effect after start)."""
    attach(app, replace(current_settings(app), **changes))


def csrf_token(client: FlaskClient, path: str) -> str:
    """The CSRF token embedded in the form at ``path``."""
    page = client.get(path)
    match = CSRF_RE.search(page.get_data(as_text=True))
    assert match, f"no CSRF token on {path} (status {page.status_code})"
    return match.group(1) or match.group(2)


def post_form(client: FlaskClient, path: str, data: dict, form_page: str | None = None, **kw):
    """POST ``data`` to ``path`` with a valid CSRF token taken from ``form_page``."""
    token = csrf_token(client, form_page or path)
    return client.post(path, data={"csrf_token": token, **data}, **kw)


def sign_in(client: FlaskClient, email: str, password: str, staff: bool = True):
    """Sign in through the staff or customer login form."""
    path = "/staff/login" if staff else "/login"
    return post_form(client, path, {"email": email, "password": password})
