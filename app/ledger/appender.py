"""Appending consent events: the ledger's one write path, for a single change or a batch.

Every write, on a :class:`~app.ledger.writer.LedgerWriter` whose caller says who owns the
transaction, does the same steps: advance ``ledger_head.size`` first (which queues concurrent
writers on that row in PostgreSQL and on the write lock in SQLite), read the customers as they
are now, insert the event rows and the tree nodes the new leaves complete, and project the
events into the consent state with :func:`app.ledger.state.project`, the rule the rebuild
replays. No full-tree recomputation ever happens.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import inspect, select
from sqlalchemy.orm import Session, scoped_session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.state import InstanceState

from app.customers.models import Customer
from app.errors import InvalidInput, NotFound
from app.ledger.canonical import canonical_bytes
from app.ledger.drafts import EventDraft, LedgerError
from app.ledger.merkle import leaf_hash
from app.ledger.models import ConsentState, LedgerHead
from app.ledger.records import ALL, record_from_values
from app.ledger.state import LIFTS_OBJECTION, StateValues, project
from app.ledger.writer import CustomerNow, LedgerWriter, StateKey, ledger_writer
from app.models_base import utcnow


def _accept(_customer: CustomerNow) -> None:
    """The default check of :func:`record_change`: refuses nothing."""


def record_change(
    session: Session,
    customer: Customer,
    make_draft: Callable[[CustomerNow], EventDraft],
    check: Callable[[CustomerNow], None] = _accept,
    *,
    caller_owns_transaction: bool = False,
) -> EventDraft:
    """Append the event ``make_draft`` builds for ``customer`` and project it.

    The customer is read inside the transaction (an erasure committed a moment ago is seen);
    ``check`` may then refuse the change by raising, and nothing is written. Returns the
    appended draft (``seq`` set). The caller's loaded copies of what the change touched (the
    customer's objection, the state row) are brought in line with it.
    """
    if isinstance(session, scoped_session):
        session = session()
    with ledger_writer(session, caller_owns_transaction=caller_owns_transaction) as writer:
        customer_id = _identity(customer)
        start = writer.reserve(1)
        now = writer.customers([customer_id]).get(customer_id)
        if now is None:
            raise NotFound("No such customer.")
        if now.erased:
            raise InvalidInput("This customer's data was erased.")
        check(now)
        draft = make_draft(now)
        try:
            append(writer, start, [draft])
        except LedgerError as exc:
            raise InvalidInput(str(exc)) from None
        objections = project_events(writer, [(now, draft)])
    _refresh_loaded(session, customer, draft, objections)
    return draft


def record_batch(
    session: Session,
    events: Sequence[tuple[int, EventDraft]],
    *,
    caller_owns_transaction: bool = False,
) -> None:
    """Append ``(customer id, draft)`` events as consecutive leaves and project them.

    For bulk imports (for example from a previous consent platform): one reservation, one
    read of the customers and of their state rows, one insert per table. Refused whole
    (``LedgerError``) when a customer is unknown, erased or not the one a draft names.
    """
    with ledger_writer(session, caller_owns_transaction=caller_owns_transaction) as writer:
        start = writer.reserve(len(events))
        customers = writer.customers({customer_id for customer_id, _ in events})
        changes = []
        for customer_id, draft in events:
            now = customers.get(customer_id)
            if now is None or now.erased or now.ref != draft.customer_ref:
                raise LedgerError(f"customer #{customer_id} is unknown, erased or not the subject")
            changes.append((now, draft))
        append(writer, start, [draft for _, draft in events])
        project_events(writer, changes)


def append(writer: LedgerWriter, start: int, drafts: Sequence[EventDraft]) -> None:
    """Number ``drafts`` from the reserved index ``start``; insert them and their tree nodes.

    Only the O(log n) frontier nodes are read, and not even those when this process made the
    previous append. Raises ``LedgerError`` for a draft that is not a valid record.
    """
    for draft in drafts:
        draft.check()
    frontier = writer.frontier_at(start)
    bind = writer.bind_time
    rows: list[tuple[Any, ...]] = []
    nodes = []
    for seq, draft in enumerate(drafts, start):
        draft.seq = seq
        values = draft.values()
        *columns, event_time, expires_at, evidence = values  # RECORD_COLUMNS' order
        stored = (*columns, bind(event_time), bind(expires_at), evidence)  # as the driver takes
        try:
            leaf = leaf_hash(canonical_bytes(record_from_values(*values)))
        except ValueError as exc:
            raise LedgerError(f"not a valid consent record: {exc}") from None
        rows.append((*stored, leaf))
        nodes.extend(frontier.append(leaf))
    writer.insert(rows, nodes)
    writer.frontier = frontier


def project_events(
    writer: LedgerWriter, changes: Sequence[tuple[CustomerNow, EventDraft]]
) -> dict[int, datetime | None]:
    """Write the consent state (and objections) the appended events imply, in order.

    Returns the customers whose objection changed, with its new time (``None``: lifted).
    """
    customer_ids = {now.id for now, draft in changes if _projected(draft)}
    current = writer.states(customer_ids) if customer_ids else {}
    touched: dict[StateKey, StateValues] = {}
    objected = {now.id: now.objected_at for now, _ in changes}
    changed: dict[int, datetime | None] = {}
    for now, draft in changes:
        if draft.action == "objected":
            objected[now.id] = changed[now.id] = draft.event_time
        elif _projected(draft):
            key = (now.id, draft.purpose, draft.channel)
            current[key] = touched[key] = project(current.get(key), draft)
            if draft.action in LIFTS_OBJECTION and objected[now.id] is not None:
                objected[now.id] = changed[now.id] = None
    if touched:
        writer.upsert_states(touched.items(), utcnow())
    if changed:
        writer.set_objections(changed.items())
    return changed


def _projected(draft: EventDraft) -> bool:
    """Whether the event changes a state row (objections concern every purpose and channel)."""
    return draft.action != "objected" and draft.purpose != ALL and draft.channel != ALL


def _identity(customer: Customer) -> int:
    """The customer's id without loading an expired object."""
    state: InstanceState[Customer] = inspect(customer)
    identity = state.identity
    return int(identity[0]) if identity else customer.id


def _refresh_loaded(
    session: Session, customer: Customer, draft: EventDraft, objections: dict[int, Any]
) -> None:
    """Bring the caller's loaded objects in line with what the change wrote."""
    state: InstanceState[Customer] = inspect(customer)
    if state.identity is None:
        return
    customer_id = state.identity[0]
    if customer_id in objections and "objected_at" not in state.unloaded:
        set_committed_value(customer, "objected_at", objections[customer_id])
    key = session.identity_key(ConsentState, (customer_id, draft.purpose, draft.channel))
    loaded = session.identity_map.get(key)
    if loaded is not None:
        session.expire(loaded)


def ledger_size(session: Session) -> int:
    """The number of events in the ledger."""
    return session.scalar(select(LedgerHead.size).where(LedgerHead.id == 1)) or 0
