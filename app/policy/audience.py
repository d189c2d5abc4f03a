"""Set-wise audience resolution: a decision for every candidate customer, at database speed.

For each policy the engine's :func:`~app.policy.prefilter.prefilter_for` is translated into
one SQL ``CASE`` (:mod:`app.policy.setwise_sql`), so the database finds the first coarse rule
each candidate fails. Every decision still comes from :func:`~app.policy.engine.decide`
(:mod:`app.policy.representatives`):

* customers denied by the prefilter get the decision of a representative of their reason code;
* survivors who set no limits and had no recent send get the decision of a representative of
  their jurisdiction and time zone (the only facts the remaining rules then read);
* every other survivor is decided on their own preferences and recent sends, loaded in bulk
  per batch of ``batch_size``.

:func:`resolve_audience` yields ``(customer_id, decision)`` for every candidate (a campaign run
records denials too); :func:`count_audience` groups in SQL and returns counts per
``(outcome, rule_id)``, for forecasts.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from app.ledger.models import ConsentState
from app.models_base import dialect_name
from app.policy.decision import Decision
from app.policy.engine import policy_error
from app.policy.facts import Intent
from app.policy.facts_db import (
    NO_PREFERENCES,
    FactsError,
    chunks,
    contact_windows,
    load_preferences,
    load_recent_sends,
    recent_send_counts,
)
from app.policy.policyset import PolicySet
from app.policy.prefilter import prefilter_for
from app.policy.representatives import Representatives
from app.policy.setwise_sql import (
    LIMITED,
    PASSED,
    SharedTable,
    branches,
    consent_on,
    correlated_shared,
    reason_column,
)
from app.vault.models import Customer

CandidateFilter = Callable[[Select], Select]
Counts = Counter[tuple[str, str]]
#: Label of the reason-code column (grouped by name, so it is computed once per row).
REASON = "audience_reason_code"
#: PostgreSQL memory per hash for an audience query (see :func:`_tune`).
AUDIENCE_WORK_MEM = "128MB"
#: (customer id, jurisdiction, time zone) of a survivor whose own limits must be read.
Limited = tuple[int, str, str]


def _intent(purpose, channel, at, template_fields, transactional) -> Intent:
    if at.tzinfo is None:
        raise ValueError("at must be timezone-aware")
    return Intent(purpose, channel, at, frozenset(template_fields), transactional)


def candidates(
    session: Session,
    policy_set: PolicySet,
    intent: Intent,
    candidate_filter: CandidateFilter | None,
) -> tuple[Select, object]:
    """The candidate query (customers not erased, narrowed by ``candidate_filter``) and the
    reason-code column computed for each candidate."""
    parts = branches(policy_set, lambda code: prefilter_for(policy_set, code, intent))
    fields = {f for _, p in parts for f in p.required_shared_fields}
    table = None
    if fields and dialect_name(session) != "sqlite":
        table = SharedTable(intent.purpose, sorted(fields))
    reason = reason_column(parts, intent.channel, intent.at, table or correlated_shared)
    reason = reason.label(REASON)
    query = (
        select(Customer.id, Customer.jurisdiction, Customer.timezone, reason)
        .select_from(Customer)
        .outerjoin(ConsentState, consent_on(intent.purpose, intent.channel))
        .where(Customer.erased_at.is_(None))
    )
    if table is not None:
        query = table.join(query)
    if candidate_filter is not None:
        query = candidate_filter(query)
    return query, reason


def _decide_limited(
    session: Session, survivors: list[Limited], deciders: Representatives
) -> Iterator[tuple[int, Decision]]:
    """Decide survivors with limits or recent sends, loading just those facts in bulk.

    Send times are read only for the customers whose count of recent sends reaches their
    weekly limit; below it the engine does not look at them (:meth:`Representatives.limited`).
    """
    intent = deciders.intent
    ids = [cid for cid, _, _ in survivors]
    limits = load_preferences(session, ids)
    counts = recent_send_counts(session, ids, intent.at, intent.channel)
    timed = [
        cid
        for cid, jurisdiction, _ in survivors
        if cid in counts
        and deciders.sends_matter(jurisdiction, limits.get(cid, NO_PREFERENCES)[1], counts[cid])
    ]
    sends = load_recent_sends(session, timed, intent.at, intent.channel) if timed else {}
    for cid, jurisdiction, zone in survivors:
        raw, cap, paused = limits.get(cid, NO_PREFERENCES)
        try:
            windows = contact_windows(raw)
        except FactsError as exc:
            yield cid, policy_error(deciders.policy_set, intent, exc)
            continue
        own = sends.get(cid, {}).get(intent.channel, ())
        yield cid, deciders.limited(jurisdiction, zone, windows, cap, paused, sorted(own))


def _classify(
    rows: Iterable, deciders: Representatives, survivors: list[Limited]
) -> Iterator[tuple[int, Decision]]:
    for cid, jurisdiction, zone, code in rows:
        if code == PASSED:
            yield cid, deciders.unlimited(jurisdiction, zone)
        elif code.startswith(LIMITED):
            survivors.append((cid, jurisdiction, zone))
        else:
            yield cid, deciders.denial(jurisdiction, zone, code)


def resolve_audience(
    session: Session,
    *,
    purpose: str,
    channel: str,
    at: datetime,
    template_fields: frozenset[str],
    transactional: bool = False,
    candidate_filter: CandidateFilter | None = None,
    batch_size: int = 5000,
    policy_set: PolicySet | None = None,
) -> Iterator[tuple[int, Decision]]:
    """Yield ``(customer_id, decision)`` for every candidate, denials included, streamed.

    ``policy_set`` defaults to the running application's policies.
    """
    policy_set = policy_set or _active_policies()
    intent = _intent(purpose, channel, at, template_fields, transactional)
    deciders = Representatives(policy_set, intent)
    query, _ = candidates(session, policy_set, intent, candidate_filter)
    _tune(session)
    result = session.execute(query, execution_options={"yield_per": batch_size})
    for batch in result.partitions():
        survivors: list[Limited] = []
        yield from _classify(batch, deciders, survivors)
        if survivors:
            yield from _decide_limited(session, survivors, deciders)


def count_audience(
    session: Session,
    *,
    purpose: str,
    channel: str,
    at: datetime,
    template_fields: frozenset[str],
    transactional: bool = False,
    candidate_filter: CandidateFilter | None = None,
    batch_size: int = 5000,
    policy_set: PolicySet | None = None,
) -> Counts:
    """How many candidates end with each ``(outcome, rule_id)``; classes are counted in SQL."""
    policy_set = policy_set or _active_policies()
    intent = _intent(purpose, channel, at, template_fields, transactional)
    deciders = Representatives(policy_set, intent)
    query, reason = candidates(session, policy_set, intent, candidate_filter)
    _tune(session)
    counts: Counts = Counter()
    survivors: list[Limited] = []
    for jurisdiction, zone, code, n in _classes(session, query, reason):
        if code.startswith(LIMITED):
            survivors.append((int(code.removeprefix(LIMITED)), jurisdiction, zone))
            continue
        decision = (
            deciders.unlimited(jurisdiction, zone)
            if code == PASSED
            else deciders.denial(jurisdiction, zone, code)
        )
        counts[decision.outcome, decision.rule_id] += n
    for part in chunks(survivors, batch_size):
        for _, decision in _decide_limited(session, list(part), deciders):
            counts[decision.outcome, decision.rule_id] += 1
    return counts


def _classes(session: Session, query: Select, reason) -> Iterable[tuple[str, str, str, int]]:
    """``(jurisdiction, time zone, reason code, count)`` of the candidates.

    PostgreSQL groups in SQL (a hash aggregate). SQLite can only group by sorting every row,
    which costs more than reading the rows once and counting them here.
    """
    if dialect_name(session) != "sqlite":
        grouped = query.with_only_columns(
            Customer.jurisdiction, Customer.timezone, reason, func.count()
        ).group_by(Customer.jurisdiction, Customer.timezone, reason)
        return session.connection().execute(grouped)
    found: Counter[tuple[str, str, str]] = Counter(
        (jurisdiction, zone, code)
        for _cid, jurisdiction, zone, code in session.connection().execute(query)
    )
    return [(*key, n) for key, n in found.items()]


def _tune(session: Session) -> None:
    """Settings for one audience query, for the rest of the transaction (PostgreSQL).

    Every lookup is hashed once per query, which PostgreSQL only plans when the hash fits in
    ``work_mem``; with the 4 MB default, audiences of a million customers fell back to a
    sub-plan scanned again for each row and never finished. JIT compilation of the long
    ``CASE`` cost more than it saved.
    """
    if dialect_name(session) == "postgresql":
        connection = session.connection()
        connection.exec_driver_sql(f"SET LOCAL work_mem = '{AUDIENCE_WORK_MEM}'")
        connection.exec_driver_sql("SET LOCAL jit = off")


def _active_policies() -> PolicySet:
    from app.services import runtime

    return runtime().policies
