"""The send-time policy re-checks: of a claimed batch, and of each wave just before hand-over.

At claim, entries are grouped by (purpose, channel, template fields) so each group is one
set-wise call of :func:`app.decisions.send_check.decide_batch_at_send` (fail closed), all under the
set in force for the batch.

A batch is then sent over seconds. A customer who withdraws, objects, pauses, is suppressed,
unshares a field or is erased meanwhile must not get the message, so every wave is checked
again right before its hand-over (:class:`HandOverCheck`). Cheaply: one indexed query reads a
*stamp* of what the policy decides on about each of the wave's customers, except the send
log: their customer row (objection, erasure, the trigger-kept summaries of suppressions and
sharing choices, verification, jurisdiction, time zone, age), the highest ledger sequence
number of their consent state (every consent event moves it) and their contact preferences.
The claim read the same stamp just before deciding; only customers whose stamp moved are
decided again, by the same policy entry point.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from functools import lru_cache

from sqlalchemy import Connection, func, select
from sqlalchemy.orm import Session

from app.customers.models import Customer
from app.decisions.send_check import decide_batch_at_send
from app.delivery.send_decisions import record_send_decisions
from app.delivery.template_book import TemplateBook
from app.ledger.models import ConsentState
from app.models_base import among_parameter, among_value
from app.policy import Decision, Intent
from app.vault.models import ContactPreferences

log = logging.getLogger("assenso.delivery")

POLICY_ERROR = "policy_error"


def _denial(explanation: str) -> Decision:
    return Decision("deny", POLICY_ERROR, explanation, "")


def send_intent(
    entry, templates: TemplateBook, at: datetime, filled: frozenset[str] = frozenset()
) -> Intent:
    """What the policy decides about outbox ``entry`` at ``at``: its purpose and channel, the
    fields its campaign's variant requires, and those it uses only with a fallback (``filled``:
    those rendered with the customer's own value, which must then be shared as well).

    Every outbox entry is a campaign message, whatever its kind says: the customer's own
    relationship messages never pass through the outbox (:mod:`app.delivery.transactional`).
    """
    usage = templates.usage(entry.campaign_id, entry.variant)
    return Intent(
        purpose=entry.purpose,
        channel=entry.channel,
        at=at,
        template_fields=usage.required | filled,
        fallback_fields=usage.fallback - filled,
    )


def recheck(
    session: Session,
    entries: Sequence,
    templates: TemplateBook,
    now: datetime,
    personalised: Mapping[int, frozenset[str]] | None = None,
) -> dict[int, Decision]:
    """The decision for each entry id, with its rule-by-rule trace; any failure to decide
    denies (never sends).

    ``personalised`` names, by entry id, the fields with a fallback that were rendered with
    the customer's own value: for that message they must still be shared.
    """
    groups: dict[Intent, list] = defaultdict(list)
    for entry in entries:
        filled = (personalised or {}).get(entry.id, frozenset())
        groups[send_intent(entry, templates, now, filled)].append(entry)
    decisions: dict[int, Decision] = {}
    for intent, members in groups.items():
        by_customer = _decide_group(session, intent, [e.customer_id for e in members])
        for entry in members:
            decisions[entry.id] = by_customer.get(entry.customer_id) or _denial(
                "no decision returned"
            )
    return decisions


def _decide_group(session: Session, intent: Intent, customer_ids: list[int]) -> dict[int, Decision]:
    try:
        return decide_batch_at_send(
            session, sorted(set(customer_ids)), lambda _customer_id: intent, explained=True
        )
    except Exception as exc:  # fail closed: an error while deciding means "do not send"
        log.warning(
            "send-time policy check failed (%s); denying %d",
            exc.__class__.__name__,
            len(customer_ids),
        )
        return {}


_LAST_CONSENT_EVENT = (
    select(func.max(ConsentState.last_seq))
    .where(ConsentState.customer_id == Customer.id)
    .scalar_subquery()
)
#: Every column :func:`app.decisions.facts_db.load_facts` reads about a customer, but their
#: sends: keep the two in step (a fact missing here would go unnoticed at hand-over).
_STAMP = (
    Customer.erased_at,
    Customer.objected_at,
    Customer.suppressed_on,
    Customer.shared_for,
    Customer.email_verified,
    Customer.phone_verified,
    Customer.jurisdiction,
    Customer.timezone,
    Customer.age_attested,
    Customer.customer_since,
    _LAST_CONSENT_EVENT,
    ContactPreferences.paused_until,
    ContactPreferences.weekly_cap,
    ContactPreferences.windows_json,
)


@lru_cache(maxsize=4)
def _stamp_query(dialect: str):
    """The stamps of the customers in the parameter ``ids``, built once per dialect (it runs
    for every wave)."""
    return (
        select(Customer.id, *_STAMP)
        .outerjoin(ContactPreferences, ContactPreferences.customer_id == Customer.id)
        .where(among_parameter(dialect, Customer.id, "ids"))
    )


def read_stamps(connection: Connection, customer_ids: Iterable[int]) -> dict[int, tuple]:
    """The stamp of each customer: changes whenever anything the policy reads about them does
    (but their sends). Absent customers have none."""
    ids = sorted(set(customer_ids))
    if not ids:
        return {}
    dialect = connection.dialect.name
    result = connection.execute(_stamp_query(dialect), {"ids": among_value(dialect, ids)})
    try:  # the driver's own values: only compared, never interpreted
        rows = result.cursor.fetchall()
    finally:
        result.close()
    return {row[0]: tuple(row[1:]) for row in rows}


class HandOverCheck:
    """Re-checks a wave against the stamps read at claim, on the recorder's connection."""

    def __init__(
        self,
        stamps: Mapping[int, tuple],
        templates: TemplateBook,
        personalised: Mapping[int, frozenset[str]] | None = None,
    ) -> None:
        """Compare with ``stamps`` (read at claim); decide with the batch's ``templates``.

        ``personalised``: by entry id, the fields with a fallback rendered with the
        customer's value; a customer who stopped sharing one is refused, never sent a value
        they no longer share.
        """
        self.stamps = stamps
        self.templates = templates
        self.personalised = personalised or {}

    def refused(
        self, connection: Connection, entries: Sequence, now: datetime
    ) -> dict[int, Decision]:
        """The decision for each of ``entries`` that may no longer be sent now (denied or
        deferred); nothing for entries whose customer's stamp is unchanged."""
        if not entries:
            return {}
        current = read_stamps(connection, (e.customer_id for e in entries))
        moved = [e for e in entries if current.get(e.customer_id) != self.stamps.get(e.customer_id)]
        if not moved:
            return {}
        with Session(bind=connection) as session:
            decisions = recheck(session, moved, self.templates, now, self.personalised)
        record_send_decisions(connection, moved, decisions, now)
        return {entry_id: d for entry_id, d in decisions.items() if not d.allowed}
