"""Public pages: the landing page and health check."""

from flask import Blueprint

bp = Blueprint("public", __name__)

from app.web.public import offer_routes, routes  # noqa: E402,F401
