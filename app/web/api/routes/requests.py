"""Data-subject requests received by an integrator, into the compliance queue."""

from __future__ import annotations

from spectree import Response

from app.compliance.requests import file_request
from app.extensions import db
from app.web.access import api_key_required
from app.web.api import bp, spec
from app.web.api.auth import actor
from app.web.api.customers import resolve
from app.web.api.idempotency import idempotent
from app.web.api.schemas import NewRequest, RequestFiled


@bp.post("/requests")
@api_key_required("requests:write")
@spec.validate(resp=Response(HTTP_201=RequestFiled), tags=["requests"], force_resp_serialize=True)
@idempotent
def new_request(json: NewRequest):
    """File a request (access, export, rectification, erasure, objection) for the
    compliance officers; its deadline runs from now. Details are sealed under the customer's
    key.

    Scope `requests:write`.
    """
    session = db.session()
    customer = resolve(session, json.customer)
    filed = file_request(
        session, customer, json.kind, channel="api", actor=actor(), details=json.details
    )
    return {
        "id": filed.id,
        "kind": filed.kind,
        "status": filed.status,
        "received_at": filed.received_at,
        "due_at": filed.due_at,
    }, 201
