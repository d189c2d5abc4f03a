"""The operator's endpoints (metrics, readiness) and what every request reports to them."""

from flask import Blueprint

bp = Blueprint("ops", __name__)

from app.web.ops import routes  # noqa: E402,F401
