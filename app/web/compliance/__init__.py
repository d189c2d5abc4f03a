"""The compliance console (role compliance_officer).

Officers audit consent, prove it, verify the ledger's integrity and answer data-subject
requests. Personal data is shown only where a task needs it, through the vault, with a reason
that the access log records. Every table shown can be exported as CSV or JSON.
"""

from flask import Blueprint

from app.web.navigation import register

bp = Blueprint("compliance", __name__, url_prefix="/compliance")
OFFICER = "compliance_officer"


def officer_actor() -> str:
    """How the signed-in officer is named in logs and ledger events."""
    from flask_login import current_user

    return f"staff:{current_user.email}"


for _endpoint, _label in (
    ("compliance.ledger", "Ledger"),
    ("compliance.customers", "Customers"),
    ("compliance.requests", "Requests"),
    ("compliance.integrity", "Integrity"),
    ("compliance.dashboards", "Dashboards"),
    ("compliance.policies", "Policies"),
    ("compliance.access_log", "Access log"),
):
    register(OFFICER, _endpoint, _label)

from app.web.compliance import (  # noqa: E402,F401
    access_log_routes,
    dashboard_routes,
    evidence_routes,
    integrity_routes,
    ledger_routes,
    policy_routes,
    request_routes,
    routes,
    trace_routes,
)
