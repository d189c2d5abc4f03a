"""Searching the consent ledger: filters, keyset pagination, and the rows an export holds.

Pages are cut on the ledger sequence (``seq``), never with OFFSET, so the thousandth page costs
what the first does. A customer is found by the blind index of the e-mail address the officer
typed; the ledger itself only knows pseudonymous customer references.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from app.compliance.filters import check_range, customer_ref_for_email, parse_day, within_days
from app.customers.models import Customer
from app.ledger.models import ConsentEvent
from app.ledger.records import ACTIONS, SOURCES
from app.policy_sets.in_force import known_channels, known_purposes

PAGE_SIZE = 50
#: The most rows one export holds; a larger result asks the officer to narrow the filters.
EXPORT_LIMIT = 100_000


@dataclass
class LedgerFilter:
    """What the officer asked for; ``customer_ref`` is resolved from the e-mail address."""

    email: str = ""
    ref: str = ""
    customer_ref: str | None = None
    purpose: str = ""
    channel: str = ""
    action: str = ""
    source: str = ""
    since: date | None = None
    until: date | None = None
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def valid(self) -> bool:
        """True when every filter could be understood."""
        return not self.errors

    def query_args(self) -> dict[str, str]:
        """The filters as query-string arguments (to carry them into page and export links)."""
        args = {
            "email": self.email,
            "ref": self.ref,
            "purpose": self.purpose,
            "channel": self.channel,
            "action": self.action,
            "source": self.source,
            "since": self.since.isoformat() if self.since else "",
            "until": self.until.isoformat() if self.until else "",
        }
        return {key: value for key, value in args.items() if value}


def _choice(args: Mapping[str, str], name: str, allowed, errors: dict[str, str]) -> str:
    value = (args.get(name) or "").strip()
    if value and value not in allowed:
        errors[name] = f"Unknown {name} {value!r}."
    return value


def parse_filter(session: Session, args: Mapping[str, str]) -> LedgerFilter:
    """Read the filters from a query string; problems are collected, never raised."""
    errors: dict[str, str] = {}
    flt = LedgerFilter(
        email=(args.get("email") or "").strip()[:320],
        ref=(args.get("ref") or "").strip()[:36],
        purpose=_choice(args, "purpose", known_purposes(), errors),
        channel=_choice(args, "channel", known_channels(), errors),
        action=_choice(args, "action", ACTIONS, errors),
        source=_choice(args, "source", SOURCES, errors),
        since=parse_day(args, "since", errors),
        until=parse_day(args, "until", errors),
        errors=errors,
    )
    check_range(flt.since, flt.until, errors)
    if flt.ref:
        if session.scalar(select(Customer.id).where(Customer.ref == flt.ref)) is None:
            errors["ref"] = "No customer has this reference."
        else:
            flt.customer_ref = flt.ref
    if flt.email:
        ref = customer_ref_for_email(session, flt.email, errors)
        if ref is not None:
            if flt.customer_ref not in (None, ref):
                errors["email"] = "This address belongs to another customer than the reference."
            flt.customer_ref = ref
    return flt


def _filtered(flt: LedgerFilter) -> Select:
    query = select(ConsentEvent)
    if flt.customer_ref:
        query = query.where(ConsentEvent.customer_ref == flt.customer_ref)
    for column, value in (
        (ConsentEvent.purpose, flt.purpose),
        (ConsentEvent.channel, flt.channel),
        (ConsentEvent.action, flt.action),
        (ConsentEvent.source, flt.source),
    ):
        if value:
            query = query.where(column == value)
    return within_days(query, ConsentEvent.event_time, flt.since, flt.until)


@dataclass(frozen=True)
class LedgerPage:
    """One page of events, newest first, with the cursors of its neighbours."""

    events: list[ConsentEvent]
    newer: int | None
    older: int | None


def search_page(
    session: Session,
    flt: LedgerFilter,
    *,
    before: int | None = None,
    after: int | None = None,
    size: int = PAGE_SIZE,
) -> LedgerPage:
    """Events matching ``flt``: newest first, or those just older than ``before`` / newer
    than ``after`` (a sequence number taken from a previous page)."""
    query = _filtered(flt)
    if after is not None:
        rows = list(
            session.scalars(
                query.where(ConsentEvent.seq > after).order_by(ConsentEvent.seq).limit(size + 1)
            )
        )
        has_newer = len(rows) > size
        events = list(reversed(rows[:size]))
        has_older = True
    else:
        if before is not None:
            query = query.where(ConsentEvent.seq < before)
        rows = list(session.scalars(query.order_by(ConsentEvent.seq.desc()).limit(size + 1)))
        has_older = len(rows) > size
        events = rows[:size]
        has_newer = before is not None
    if not events:
        return LedgerPage(events=[], newer=None, older=None)
    return LedgerPage(
        events=events,
        newer=events[0].seq if has_newer else None,
        older=events[-1].seq if has_older else None,
    )


def export_rows(session: Session, flt: LedgerFilter) -> Iterator[ConsentEvent]:
    """Every matching event, oldest first, at most :data:`EXPORT_LIMIT` (streamed)."""
    query = _filtered(flt).order_by(ConsentEvent.seq).limit(EXPORT_LIMIT)
    yield from session.scalars(query.execution_options(yield_per=2_000))


def customers_by_ref(session: Session, refs: set[str]) -> dict[str, int]:
    """Customer ids of the pseudonymous references on a page (for links to their evidence)."""
    if not refs:
        return {}
    rows = session.execute(select(Customer.ref, Customer.id).where(Customer.ref.in_(refs)))
    return {ref: customer_id for ref, customer_id in rows}
