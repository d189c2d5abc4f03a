"""The compliance console (role compliance_officer)."""

from flask import Blueprint

bp = Blueprint("compliance", __name__, url_prefix="/compliance")

from app.web.compliance import routes  # noqa: E402,F401
