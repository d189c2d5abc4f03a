"""The marketer console (role marketer)."""

from flask import Blueprint

bp = Blueprint("marketing", __name__, url_prefix="/marketing")

from app.web.marketing import routes  # noqa: E402,F401
