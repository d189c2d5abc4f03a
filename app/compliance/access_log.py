"""The vault access log, searchable: who read which fields of whom, when, and why."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from app.compliance.filters import check_range, customer_ref_for_email, parse_day, within_days
from app.vault.models import VaultAccess

PAGE_SIZE = 50
EXPORT_LIMIT = 100_000


@dataclass
class AccessFilter:
    """The officer's filters; ``customer_ref`` comes from the e-mail address typed."""

    actor: str = ""
    purpose: str = ""
    email: str = ""
    since: date | None = None
    until: date | None = None
    customer_ref: str | None = None
    errors: dict[str, str] = field(default_factory=dict)

    def query_args(self) -> dict[str, str]:
        """The filters as query-string arguments."""
        args = {
            "actor": self.actor,
            "purpose": self.purpose,
            "email": self.email,
            "since": self.since.isoformat() if self.since else "",
            "until": self.until.isoformat() if self.until else "",
        }
        return {key: value for key, value in args.items() if value}


def parse_access_filter(session: Session, args: Mapping[str, str]) -> AccessFilter:
    """Read the filters; problems are collected for the form, never raised."""
    errors: dict[str, str] = {}
    flt = AccessFilter(
        actor=(args.get("actor") or "").strip()[:120],
        purpose=(args.get("purpose") or "").strip()[:40],
        email=(args.get("email") or "").strip()[:320],
        since=parse_day(args, "since", errors),
        until=parse_day(args, "until", errors),
        errors=errors,
    )
    check_range(flt.since, flt.until, errors)
    if flt.email:
        flt.customer_ref = customer_ref_for_email(session, flt.email, errors)
    return flt


def _filtered(flt: AccessFilter) -> Select:
    query = select(VaultAccess)
    if flt.actor:
        query = query.where(VaultAccess.actor.contains(flt.actor, autoescape=True))
    if flt.purpose:
        query = query.where(VaultAccess.purpose == flt.purpose)
    if flt.customer_ref:
        query = query.where(VaultAccess.customer_ref == flt.customer_ref)
    return within_days(query, VaultAccess.at, flt.since, flt.until)


def access_page(
    session: Session, flt: AccessFilter, before: int | None = None, size: int = PAGE_SIZE
) -> tuple[list[VaultAccess], int | None]:
    """Entries newest first (older than ``before``), and the cursor of the next page."""
    query = _filtered(flt)
    if before is not None:
        query = query.where(VaultAccess.id < before)
    rows = list(session.scalars(query.order_by(VaultAccess.id.desc()).limit(size + 1)))
    older = rows[size - 1].id if len(rows) > size else None
    return rows[:size], older


def access_export(session: Session, flt: AccessFilter) -> list[VaultAccess]:
    """Every matching entry in the page's order, newest first (the newest
    :data:`EXPORT_LIMIT`)."""
    query = _filtered(flt).order_by(VaultAccess.id.desc()).limit(EXPORT_LIMIT)
    return list(session.scalars(query))


def purposes_logged(session: Session) -> list[str]:
    """The purposes that appear in the log (for the filter's choices)."""
    return list(
        session.scalars(select(VaultAccess.purpose).distinct().order_by(VaultAccess.purpose))
    )
