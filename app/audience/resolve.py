"""Deciding a campaign's audience: a decision for every candidate, or counts per reason.

:func:`resolve_audience` streams ``(customer_id, decision)`` for every candidate, denials
included (a campaign run records them); :func:`count_audience` counts the candidates per
``(outcome, rule_id)`` (forecasts). The database gives each candidate the key of their class
(:mod:`app.audience.query`); the engine decides each class once, on a representative
(:mod:`app.audience.representatives`). The whole path: ``docs/AUDIENCE.md``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from app.audience.query import PASSED, TIMED, AudienceQuery, CandidateFilter, Limits
from app.audience.representatives import Representatives
from app.audience.rows import audience_batches, tune
from app.customers.models import Customer
from app.decisions.facts_db import FactsError, contact_windows
from app.models_base import among
from app.policy.decision import Decision
from app.policy.engine import policy_error
from app.policy.facts import Intent
from app.policy.policyset import PolicySet
from app.policy_sets.in_force import policies_in_force

Counts = Counter[tuple[str, str]]
#: Keys whose decision :func:`resolve_audience` keeps: classes are few, but a filter, a policy
#: or survivors' own send times can make them many.
KEYS_KEPT = 65536


def _intent(
    purpose: str,
    channel: str,
    at: datetime,
    template_fields: Iterable[str],
    transactional: bool,
    fallback_fields: Iterable[str] = (),
) -> Intent:
    """The engine's intent for the audience's message; ``at`` must be timezone-aware."""
    if at.tzinfo is None:
        raise ValueError("at must be timezone-aware")
    return Intent(
        purpose,
        channel,
        at,
        frozenset(template_fields),
        transactional,
        frozenset(fallback_fields) - frozenset(template_fields),
    )


def _survivor(
    deciders: Representatives,
    jurisdiction: str,
    zone: str,
    limits: Limits,
    sends: Sequence[datetime] = (),
) -> Decision:
    """A survivor's decision on their own limits (and send times, when they matter)."""
    raw, cap, paused = limits
    try:
        windows = contact_windows(raw)
    except FactsError as exc:
        return policy_error(deciders.policy_set, deciders.intent, exc)
    return deciders.limited(jurisdiction, zone, windows, cap, paused, sends)


def _class_decision(query: AudienceQuery, deciders: Representatives, key: str) -> Decision:
    """The decision of every candidate with ``key``.

    A survivor's send times are read (parsed) only when there are as many as their weekly
    limit: fewer can never defer them (see :meth:`Representatives.limited`).
    """
    jurisdiction, zone, code, limits, sent = query.parse(key)
    if code == PASSED:
        return _survivor(deciders, jurisdiction, zone, limits)
    if code == TIMED:
        limit = deciders.weekly_limit(jurisdiction, limits[1])
        many = bool(sent) and limit is not None and sent.count(",") + 1 >= limit
        return _survivor(
            deciders, jurisdiction, zone, limits, query.send_times(sent) if many else ()
        )
    return deciders.denial(jurisdiction, zone, code)


def resolve_audience(
    session: Session,
    *,
    purpose: str,
    channel: str,
    at: datetime,
    template_fields: frozenset[str],
    fallback_fields: frozenset[str] = frozenset(),
    transactional: bool = False,
    candidate_filter: CandidateFilter | None = None,
    batch_size: int = 5000,
    policy_set: PolicySet | None = None,
) -> Iterator[tuple[int, Decision]]:
    """Yield ``(customer_id, decision)`` for every candidate, denials included, streamed.

    ``template_fields`` must be shared for the purpose; ``fallback_fields`` (used with a
    fallback value) need only be allowed for it.

    ``policy_set`` defaults to the set in force for the current unit of work.
    """
    policy_set = policy_set or policies_in_force()
    intent = _intent(purpose, channel, at, template_fields, transactional, fallback_fields)
    deciders = Representatives(policy_set, intent)
    query = AudienceQuery(session, deciders, candidate_filter)
    known: dict[str, Decision] = {}
    for batch in audience_batches(session, query.rows(), batch_size):
        for cid, key in batch:
            found = known.get(key)
            if found is None:
                found = _class_decision(query, deciders, key)
                if len(known) < KEYS_KEPT:
                    known[key] = found
            yield cid, found


def decide_customers(
    session: Session,
    customer_ids: Iterable[int],
    *,
    purpose: str,
    channel: str,
    at: datetime,
    template_fields: frozenset[str],
    policy_set: PolicySet | None = None,
) -> dict[int, Decision]:
    """The decision of each known, not erased customer among ``customer_ids`` (the others are
    absent): :func:`resolve_audience` with those ids as its only candidates, read at once."""
    ids = sorted(set(customer_ids))
    if not ids:
        return {}
    return dict(
        resolve_audience(
            session,
            purpose=purpose,
            channel=channel,
            at=at,
            template_fields=template_fields,
            candidate_filter=lambda query: query.where(among(session, Customer.id, ids)),
            batch_size=len(ids),
            policy_set=policy_set,
        )
    )


def count_audience(
    session: Session,
    *,
    purpose: str,
    channel: str,
    at: datetime,
    template_fields: frozenset[str],
    fallback_fields: frozenset[str] = frozenset(),
    transactional: bool = False,
    candidate_filter: CandidateFilter | None = None,
    batch_size: int = 5000,
    policy_set: PolicySet | None = None,
) -> Counts:
    """How many candidates end with each ``(outcome, rule_id)``; classes are counted in SQL.

    ``batch_size`` is accepted for symmetry with :func:`resolve_audience` and not needed.
    """
    policy_set = policy_set or policies_in_force()
    intent = _intent(purpose, channel, at, template_fields, transactional, fallback_fields)
    deciders = Representatives(policy_set, intent)
    audience = AudienceQuery(session, deciders, candidate_filter)
    tune(session.connection())
    counts: Counts = Counter()
    for key, n in audience.classes(session):
        decision = _class_decision(audience, deciders, key)
        counts[decision.outcome, decision.rule_id] += n
    return counts
