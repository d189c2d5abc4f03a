"""Sign-in, sign-out and password changes for staff and customers."""

from flask import Blueprint

bp = Blueprint("auth", __name__)

from app.web.auth import reset, routes, signup  # noqa: E402,F401
