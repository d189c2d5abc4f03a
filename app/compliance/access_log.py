"""The vault access log, searchable: who read which fields of whom, when, and why."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from app.vault.directory import find_customer_by_email
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


def _day(value: str, name: str, errors: dict[str, str]) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        errors[name] = "Enter a date as YYYY-MM-DD."
        return None


def parse_access_filter(session: Session, args: Mapping[str, str]) -> AccessFilter:
    """Read the filters; problems are collected for the form, never raised."""
    errors: dict[str, str] = {}
    flt = AccessFilter(
        actor=(args.get("actor") or "").strip()[:120],
        purpose=(args.get("purpose") or "").strip()[:40],
        email=(args.get("email") or "").strip()[:320],
        since=_day((args.get("since") or "").strip(), "since", errors),
        until=_day((args.get("until") or "").strip(), "until", errors),
        errors=errors,
    )
    if flt.since and flt.until and flt.since > flt.until:
        errors["until"] = "The end date is before the start date."
    if flt.email:
        customer = find_customer_by_email(session, flt.email)
        if customer is None:
            errors["email"] = "No customer holds this e-mail address (or it was erased)."
        else:
            flt.customer_ref = customer.ref
    return flt


def _filtered(flt: AccessFilter) -> Select:
    query = select(VaultAccess)
    if flt.actor:
        query = query.where(VaultAccess.actor.contains(flt.actor, autoescape=True))
    if flt.purpose:
        query = query.where(VaultAccess.purpose == flt.purpose)
    if flt.customer_ref:
        query = query.where(VaultAccess.customer_ref == flt.customer_ref)
    if flt.since:
        query = query.where(VaultAccess.at >= datetime.combine(flt.since, time(), UTC))
    if flt.until:
        end = datetime.combine(flt.until + timedelta(days=1), time(), UTC)
        query = query.where(VaultAccess.at < end)
    return query


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
    """Every matching entry, oldest first (at most :data:`EXPORT_LIMIT`)."""
    query = _filtered(flt).order_by(VaultAccess.id).limit(EXPORT_LIMIT)
    return list(session.scalars(query))


def purposes_logged(session: Session) -> list[str]:
    """The purposes that appear in the log (for the filter's choices)."""
    return list(
        session.scalars(select(VaultAccess.purpose).distinct().order_by(VaultAccess.purpose))
    )
