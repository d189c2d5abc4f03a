"""Finding data-subject requests: the console's filtered list and counts, a request's history
and a customer's own requests (the portal)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from app.compliance.models import (
    OPEN_STATUSES,
    REQUEST_KINDS,
    DataSubjectRequest,
    RequestAction,
)
from app.customers.models import Customer
from app.models_base import utcnow


@dataclass
class RequestFilter:
    """List filters: status (or ``open``), kind, overdue only."""

    status: str = "open"
    kind: str = ""
    overdue: bool = False


def parse_request_filter(args: Mapping[str, str]) -> tuple[RequestFilter, dict[str, str]]:
    """Filters from a query string, with a message per bad value."""
    errors: dict[str, str] = {}
    status = args.get("status", "open") or "open"
    if status not in ("open", "all", "received", "in_progress", "fulfilled", "refused"):
        errors["status"] = f"Unknown status {status!r}."
    kind = args.get("kind", "")
    if kind and kind not in REQUEST_KINDS:
        errors["kind"] = f"Unknown kind {kind!r}."
    return RequestFilter(status=status, kind=kind, overdue=args.get("overdue") == "1"), errors


def list_requests(session: Session, flt: RequestFilter, limit: int = 1000):
    """Requests matching ``flt``, most urgent first (open ones by deadline)."""
    query = select(DataSubjectRequest)
    if flt.status == "open":
        query = query.where(DataSubjectRequest.status.in_(OPEN_STATUSES))
    elif flt.status != "all":
        query = query.where(DataSubjectRequest.status == flt.status)
    if flt.kind:
        query = query.where(DataSubjectRequest.kind == flt.kind)
    if flt.overdue:
        query = query.where(
            DataSubjectRequest.status.in_(OPEN_STATUSES), DataSubjectRequest.due_at < utcnow()
        )
    still_open = case((DataSubjectRequest.status.in_(OPEN_STATUSES), 0), else_=1)
    query = query.order_by(still_open, DataSubjectRequest.due_at, DataSubjectRequest.id)
    return list(session.scalars(query.limit(limit)))


def request_counts(session: Session) -> dict[str, int]:
    """Open and overdue requests, for the console's overview."""
    now = utcnow()
    open_, overdue = session.execute(
        select(
            func.count(),
            func.coalesce(func.sum(case((DataSubjectRequest.due_at < now, 1), else_=0)), 0),
        ).where(DataSubjectRequest.status.in_(OPEN_STATUSES))
    ).one()
    return {"open": open_ or 0, "overdue": overdue or 0}


def history(session: Session, request: DataSubjectRequest) -> list[RequestAction]:
    """What was done about the request, oldest first."""
    return list(
        session.scalars(
            select(RequestAction)
            .where(RequestAction.request_id == request.id)
            .order_by(RequestAction.at, RequestAction.id)
        )
    )


def customer_requests(session: Session, customer: Customer) -> list[DataSubjectRequest]:
    """A customer's own requests, newest first (for the portal)."""
    return list(
        session.scalars(
            select(DataSubjectRequest)
            .where(DataSubjectRequest.customer_id == customer.id)
            .order_by(DataSubjectRequest.id.desc())
        )
    )
