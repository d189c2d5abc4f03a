"""The customer preference portal."""

from flask import Blueprint

bp = Blueprint("portal", __name__, url_prefix="/me")

from app.web.portal import routes  # noqa: E402,F401
