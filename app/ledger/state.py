"""Current consent state: a projection of the ledger, one row per customer, purpose, channel.

``project`` is the single rule for how an event changes the state. The live append uses it in
the same transaction; ``rebuild_state`` replays the whole ledger through it and reports any
row that differs from what is stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.customers.models import Customer
from app.ledger.models import ConsentEvent, ConsentState
from app.ledger.records import ALL
from app.transaction import transaction


class StateValues(NamedTuple):
    """The projected consent of one customer for one purpose and channel (a named tuple:
    cheap to build for every imported event)."""

    status: str  # granted | pending | withdrawn | expired | none
    lawful_basis: str | None
    confirmed: bool
    granted_at: datetime | None
    expires_at: datetime | None
    notice_version: int | None
    last_seq: int


#: The actions after which a customer's objection to direct marketing no longer stands: an
#: explicit consent given later is the customer's newer choice.
LIFTS_OBJECTION = ("granted", "confirmed")


def project(current: StateValues | None, event) -> StateValues:
    """The state after ``event`` given the state before it (``None``: no state yet)."""
    action = event.action
    base = current or StateValues("none", None, False, None, None, None, event.seq)
    if action in ("granted", "renewed", "confirmed"):
        return StateValues(
            "granted",
            event.lawful_basis,
            True,
            event.event_time,
            event.expires_at,
            event.notice_version,
            event.seq,
        )
    if action == "double_opt_in_pending":
        if base.status == "granted":  # a repeated request must not undo a confirmed consent
            return _touch(base, event.seq)
        return StateValues(
            "pending",
            event.lawful_basis,
            False,
            None,
            event.expires_at,
            event.notice_version,
            event.seq,
        )
    if action == "cancelled":
        if base.status != "pending":
            return _touch(base, event.seq)
        return StateValues(
            "none", base.lawful_basis, False, None, None, base.notice_version, event.seq
        )
    if action == "withdrawn":
        return StateValues(
            "withdrawn", base.lawful_basis, False, None, None, base.notice_version, event.seq
        )
    if action == "expired":
        if base.status != "granted":
            return _touch(base, event.seq)
        return StateValues(
            "expired",
            base.lawful_basis,
            False,
            base.granted_at,
            base.expires_at,
            base.notice_version,
            event.seq,
        )
    return _touch(base, event.seq)


def _touch(values: StateValues, seq: int) -> StateValues:
    return values._replace(last_seq=seq)


def values_of(row: ConsentState) -> StateValues:
    """The projected values held in a stored row."""
    return StateValues(
        row.status,
        row.lawful_basis,
        row.confirmed,
        row.granted_at,
        row.expires_at,
        row.notice_version,
        row.last_seq,
    )


@dataclass(frozen=True)
class RebuildReport:
    """What ``rebuild_state`` found and fixed."""

    events: int
    rows: int
    differences: list[str]


def replay(session: Session, batch: int = 5000) -> tuple[dict, dict[str, datetime | None], int]:
    """Replay the ledger: (state per (ref, purpose, channel), objection per ref, events read)."""
    state: dict[tuple[str, str, str], StateValues] = {}
    objected: dict[str, datetime | None] = {}
    count = 0
    for event in session.scalars(
        select(ConsentEvent).order_by(ConsentEvent.seq).execution_options(yield_per=batch)
    ):
        count += 1
        if event.action == "objected":
            objected[event.customer_ref] = event.event_time
            continue
        if event.purpose == ALL or event.channel == ALL:
            continue
        key = (event.customer_ref, event.purpose, event.channel)
        state[key] = project(state.get(key), event)
        if event.action in LIFTS_OBJECTION:
            objected[event.customer_ref] = None
    return state, objected, count


def rebuild_state(session: Session, *, fix: bool = True) -> RebuildReport:
    """Recompute the projection from the ledger; report (and by default repair) differences."""
    expected, objected, count = replay(session)
    customers = {c.ref: c for c in session.scalars(select(Customer))}
    ref_of = {c.id: ref for ref, c in customers.items()}
    stored = {
        (ref_of.get(row.customer_id, f"#{row.customer_id}"), row.purpose, row.channel): row
        for row in session.scalars(select(ConsentState))
    }
    differences = []
    with transaction(session):
        for key in sorted(set(expected) | set(stored)):
            want, have = expected.get(key), stored.get(key)
            if have is not None and want == values_of(have):
                continue
            differences.append(
                f"{key[0]} {key[1]}/{key[2]}: stored {_show(have)}, ledger says {_show(want)}"
            )
            if fix:
                _repair(session, customers, key, have, want)
        for ref, moment in objected.items():
            customer = customers.get(ref)
            if customer is not None and customer.objected_at != moment:
                differences.append(
                    f"{ref} objection: stored {customer.objected_at}, ledger says {moment}"
                )
                if fix:
                    customer.objected_at = moment
        if not fix:
            session.rollback()
    return RebuildReport(events=count, rows=len(expected), differences=differences)


def _show(value) -> str:
    if value is None:
        return "nothing"
    values = value if isinstance(value, StateValues) else values_of(value)
    return f"{values.status} (seq {values.last_seq})"


def _repair(session, customers, key, have, want) -> None:
    if want is None:
        session.delete(have)
        return
    if have is None:
        customer = customers.get(key[0])
        if customer is None:
            return
        have = ConsentState(customer_id=customer.id, purpose=key[1], channel=key[2])
        session.add(have)
    for name, value in want._asdict().items():
        setattr(have, name, value)
