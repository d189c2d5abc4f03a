"""Set-wise audience resolution: a decision for every candidate, at database speed.

For each policy the engine's :func:`~app.policy.prefilter.prefilter_for` is translated into a
SQL ``CASE`` (:mod:`app.policy.setwise_sql`), so the database finds the first coarse rule each
candidate fails, and gives every candidate the key of their class
(:mod:`app.policy.audience_query`). Every decision still comes from
:func:`~app.policy.engine.decide` (:mod:`app.policy.representatives`), once per class:

* customers denied by the prefilter get the decision of a representative of their reason code;
* survivors get the decision of a representative of their class: jurisdiction, time zone,
  their own limits and, when they may reach their weekly limit, their recent send times
  (read in the same statement).

:func:`resolve_audience` yields ``(customer_id, decision)`` for every candidate (a campaign run
records denials too), reading only the id and key of each from the database driver
(:mod:`app.policy.audience_rows`);
:func:`count_audience` counts the classes and returns counts per ``(outcome, rule_id)``, for
forecasts.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import datetime

from sqlalchemy.orm import Session

from app.policy.audience_query import PASSED, TIMED, AudienceQuery, CandidateFilter, Limits
from app.policy.audience_rows import audience_batches, tune
from app.policy.decision import Decision
from app.policy.engine import policy_error
from app.policy.facts import Intent
from app.policy.facts_db import FactsError, contact_windows
from app.policy.policyset import PolicySet
from app.policy.representatives import Representatives
from app.services import policies_in_force

Counts = Counter[tuple[str, str]]
#: Keys whose decision :func:`resolve_audience` keeps: classes are few, but a filter, a policy
#: or survivors' own send times can make them many.
KEYS_KEPT = 65536


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
    transactional: bool = False,
    candidate_filter: CandidateFilter | None = None,
    batch_size: int = 5000,
    policy_set: PolicySet | None = None,
) -> Iterator[tuple[int, Decision]]:
    """Yield ``(customer_id, decision)`` for every candidate, denials included, streamed.

    ``policy_set`` defaults to the set in force for the current unit of work.
    """
    policy_set = policy_set or policies_in_force()
    intent = _intent(purpose, channel, at, template_fields, transactional)
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
    """How many candidates end with each ``(outcome, rule_id)``; classes are counted in SQL.

    ``batch_size`` is accepted for symmetry with :func:`resolve_audience` and not needed.
    """
    policy_set = policy_set or policies_in_force()
    intent = _intent(purpose, channel, at, template_fields, transactional)
    deciders = Representatives(policy_set, intent)
    audience = AudienceQuery(session, deciders, candidate_filter)
    tune(session.connection())
    counts: Counts = Counter()
    for key, n in audience.classes(session):
        decision = _class_decision(audience, deciders, key)
        counts[decision.outcome, decision.rule_id] += n
    return counts
