"""Per-customer summaries of suppressions and sharing choices, kept by the database.

The audience query decides every candidate customer in one pass over ``customers``. Looking
up each one's suppressions and sharing choices in their own tables cost about half of that
pass (an index lookup or a join per customer and table), so each customer row also carries
them, as text:

* ``suppressed_on``: the channels the customer is suppressed on (``*``: all), ``,*,email,``;
* ``shared_for``: what they share, as ``purpose:field`` tokens, ``,offers:city,offers:email,``.

Every token is enclosed in commas and ``,`` alone means none, so a test is one substring
search for ``,token,``; channels, purposes and fields are identifiers, which contain neither
``,`` nor ``:``. Database triggers (migration 0007) rewrite a customer's summary from their rows
whenever one of them is inserted, updated or deleted, in the same transaction, whoever
writes. Nothing in the application writes a summary, and the send-time re-check reads the
tables themselves. :func:`stale_summaries` finds summaries that differ from the rows (after
rows were changed with the triggers disabled) and :func:`repair_summaries` rewrites them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from itertools import groupby
from operator import itemgetter

from sqlalchemy import ColumnElement, SQLColumnExpression, func, select, update
from sqlalchemy.orm import Session

from app.customers.models import Customer
from app.outbox.models import Suppression
from app.transaction import transaction
from app.vault.models import SharingChoice

#: The summary of nothing at all.
EMPTY = ","
#: Customers read per batch by :func:`stale_summaries`.
BATCH = 5000

Stale = tuple[int, str, str]


def summary_of(tokens: Iterable[str]) -> str:
    """The summary text of ``tokens`` (sorted, each enclosed in commas)."""
    found = sorted(set(tokens))
    return "," + ",".join(found) + "," if found else EMPTY


def tokens_of(summary: str) -> frozenset[str]:
    """The tokens a summary text holds (its order does not matter)."""
    return frozenset(part for part in summary.split(",") if part)


def shared_token(purpose: str, field: str) -> str:
    """The token of ``field`` shared for ``purpose`` in ``shared_for``."""
    return f"{purpose}:{field}"


def holds(summary: SQLColumnExpression[str], token: str, dialect: str) -> ColumnElement[bool]:
    """Whether the summary column holds ``token``: one substring search on either database."""
    search = func.strpos if dialect == "postgresql" else func.instr
    return search(summary, f",{token},") > 0


def _grouped(rows: Iterable) -> Iterator[tuple[int, frozenset[str]]]:
    for customer_id, group in groupby(rows, key=itemgetter(0)):
        yield customer_id, frozenset(token for _, token in group)


def _streamed(session: Session, query) -> Iterator:
    result = session.execute(query.execution_options(yield_per=BATCH))
    try:
        yield from result.tuples()
    finally:
        result.close()


def stale_summaries(session: Session) -> Iterator[Stale]:
    """``(customer id, suppressed_on, shared_for)`` as the rows say, for every customer whose
    stored summaries differ from them; three ordered scans merged, in flat memory."""
    customers = _streamed(
        session,
        select(Customer.id, Customer.suppressed_on, Customer.shared_for).order_by(Customer.id),
    )
    suppressed = _grouped(
        _streamed(
            session,
            select(Suppression.customer_id, Suppression.channel).order_by(Suppression.customer_id),
        )
    )
    shared = _grouped(
        _streamed(
            session,
            select(
                SharingChoice.customer_id,
                SharingChoice.purpose + ":" + SharingChoice.field,
            )
            .where(SharingChoice.shared.is_(True))
            .order_by(SharingChoice.customer_id),
        )
    )
    next_suppressed, next_shared = next(suppressed, None), next(shared, None)
    for customer_id, stored_suppressed, stored_shared in customers:
        channels: frozenset[str] = frozenset()
        while next_suppressed is not None and next_suppressed[0] <= customer_id:
            if next_suppressed[0] == customer_id:
                channels = next_suppressed[1]
            next_suppressed = next(suppressed, None)
        pairs: frozenset[str] = frozenset()
        while next_shared is not None and next_shared[0] <= customer_id:
            if next_shared[0] == customer_id:
                pairs = next_shared[1]
            next_shared = next(shared, None)
        if tokens_of(stored_suppressed) != channels or tokens_of(stored_shared) != pairs:
            yield customer_id, summary_of(channels), summary_of(pairs)


def repair_summaries(session: Session, progress: Callable[[int], None] | None = None) -> int:
    """Rewrite every stale summary from the customer's rows, in one transaction; returns how
    many were stale. Batches are written while the scans go on (each scan is past them)."""
    repaired = 0
    with transaction(session):
        part: list[Stale] = []
        for stale in stale_summaries(session):
            part.append(stale)
            if len(part) == BATCH:
                repaired += _rewrite(session, part, progress, repaired)
                part = []
        if part:
            repaired += _rewrite(session, part, progress, repaired)
    return repaired


def _rewrite(session: Session, part: list[Stale], progress, done: int) -> int:
    session.execute(
        update(Customer),
        [{"id": cid, "suppressed_on": s, "shared_for": f} for cid, s, f in part],
    )
    if progress:
        progress(done + len(part))
    return len(part)
