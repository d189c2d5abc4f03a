"""Administration: staff accounts, API keys and webhooks (role admin)."""

from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")

from app.web.admin import integrations, routes  # noqa: E402,F401
