"""Set-wise audience resolution: a decision for every candidate customer, at database speed.

For each policy the engine's :func:`~app.policy.prefilter.prefilter_for` is translated into
one SQL ``CASE`` (:mod:`app.policy.setwise_sql`), so the database finds the first coarse rule
each candidate fails. Every decision still comes from :func:`~app.policy.engine.decide`
(:mod:`app.policy.representatives`):

* customers denied by the prefilter get the decision of a representative of their reason code;
* survivors whose recent sends cannot reach their weekly limit get the decision of a
  representative of their class: jurisdiction, time zone and their own limits (windows,
  weekly cap, pause), which the query reads beside the code (the only facts the remaining
  rules then read);
* the other survivors are decided on their own recent send times, loaded in bulk per batch
  of ``batch_size``.

:func:`resolve_audience` yields ``(customer_id, decision)`` for every candidate (a campaign run
records denials too); :func:`count_audience` counts the classes and returns counts per
``(outcome, rule_id)``, for forecasts.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import datetime

from sqlalchemy.orm import Session

from app.models_base import dialect_name
from app.policy.audience_query import AudienceQuery, CandidateFilter, Limits
from app.policy.decision import Decision
from app.policy.engine import policy_error
from app.policy.facts import Intent
from app.policy.facts_db import FactsError, chunks, contact_windows, load_recent_sends
from app.policy.policyset import PolicySet
from app.policy.representatives import Representatives
from app.policy.setwise_sql import LIMITED, PASSED

Counts = Counter[tuple[str, str]]
#: PostgreSQL memory per hash for an audience query (see :func:`_tune`).
AUDIENCE_WORK_MEM = "128MB"
#: (customer id, jurisdiction, time zone, own limits) of a survivor whose sends must be read.
Timed = tuple[int, str, str, Limits]


def _intent(purpose, channel, at, template_fields, transactional) -> Intent:
    if at.tzinfo is None:
        raise ValueError("at must be timezone-aware")
    return Intent(purpose, channel, at, frozenset(template_fields), transactional)


def _survivor(deciders: Representatives, jurisdiction, zone, limits: Limits, sends=()) -> Decision:
    """A survivor's decision on their own limits (and send times, when they matter)."""
    raw, cap, paused = limits
    try:
        windows = contact_windows(raw)
    except FactsError as exc:
        return policy_error(deciders.policy_set, deciders.intent, exc)
    return deciders.limited(jurisdiction, zone, windows, cap, paused, sends)


def _decide_timed(
    session: Session, survivors: list[Timed], deciders: Representatives
) -> Iterator[tuple[int, Decision]]:
    """Decide survivors whose recent sends may reach their weekly limit, on their send times.

    :meth:`Representatives.limited` drops the send times again where the exact limit shows
    they do not matter, so those still share one decision per class.
    """
    intent = deciders.intent
    ids = [cid for cid, _, _, _ in survivors]
    sends = load_recent_sends(session, ids, intent.at, intent.channel)
    for cid, jurisdiction, zone, limits in survivors:
        own = sends.get(cid, {}).get(intent.channel, ())
        yield cid, _survivor(deciders, jurisdiction, zone, limits, own)


def _classify(
    rows: Iterable, deciders: Representatives, survivors: list[Timed]
) -> Iterator[tuple[int, Decision]]:
    for cid, jurisdiction, zone, code, raw, cap, paused in rows:
        if code == PASSED:
            yield cid, _survivor(deciders, jurisdiction, zone, (raw, cap, paused))
        elif code.startswith(LIMITED):
            survivors.append((cid, jurisdiction, zone, (raw, cap, paused)))
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
    query = AudienceQuery(session, deciders, candidate_filter).rows()
    _tune(session)
    result = session.execute(query, execution_options={"yield_per": batch_size})
    for batch in result.partitions():
        survivors: list[Timed] = []
        yield from _classify(batch, deciders, survivors)
        if survivors:
            yield from _decide_timed(session, survivors, deciders)


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
    audience = AudienceQuery(session, deciders, candidate_filter)
    _tune(session)
    counts: Counts = Counter()
    survivors: list[Timed] = []
    for (jurisdiction, zone, code, limits), n in audience.classes(session):
        if code.startswith(LIMITED):
            cid = int(code.removeprefix(LIMITED))
            survivors.extend([(cid, jurisdiction, zone, limits)] * n)
            continue
        decision = (
            _survivor(deciders, jurisdiction, zone, limits)
            if code == PASSED
            else deciders.denial(jurisdiction, zone, code)
        )
        counts[decision.outcome, decision.rule_id] += n
    for part in chunks(survivors, batch_size):
        for _, decision in _decide_timed(session, list(part), deciders):
            counts[decision.outcome, decision.rule_id] += 1
    return counts


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
