"""The deferral rules and the search for a moment that satisfies all of them.

A check receives the plan, the customer, the intent, the candidate instant ``t`` and that
instant in the customer's zone (``local``). It returns ``None`` (satisfied at ``t``), an
instant after ``t`` worth trying next, or a message when no moment can ever satisfy it (the
engine then denies).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from app.policy.facts import ContactWindow, CustomerFacts, Intent
from app.policy.zones import instant_of

if TYPE_CHECKING:
    from app.policy.plan import Plan

DeferCheck = Callable[["Plan", CustomerFacts, Intent, datetime, datetime], "datetime | str | None"]

WEEK = timedelta(days=7)
MAX_ROUNDS = 16
WINDOW_SEARCH_DAYS = 15
_MIDNIGHT = time(0)


def check_pause(
    plan: Plan, customer: CustomerFacts, intent: Intent, t: datetime, local: datetime
) -> datetime | str | None:
    """The customer paused messages: wait until the pause ends."""
    until = customer.paused_until
    if until is not None and until > t:
        return until
    return None


def weekly_limit(plan: Plan, weekly_cap: int | None, intent: Intent) -> int | None:
    """How many counted sends per rolling week the frequency cap allows (None: no cap).

    The smaller of the policy's maximum for the channel and the customer's own cap (where
    customer limits apply); exempt messages (transactional where the purpose allows) have none.
    """
    if intent.transactional and plan.transactional_allowed:
        return None
    limit = plan.max_per_week
    cap = weekly_cap if plan.customer_limits else None
    if cap is not None and (limit is None or cap < limit):
        limit = cap
    return limit


def check_frequency_cap(
    plan: Plan, customer: CustomerFacts, intent: Intent, t: datetime, local: datetime
) -> datetime | str | None:
    """Rolling 7 days per channel: the policy maximum and the customer's weekly cap.

    Defers until enough of the counted sends have left the window.
    """
    limit = weekly_limit(plan, customer.weekly_cap, intent)
    if limit is None:
        return None
    if limit <= 0:
        return f"the customer accepts no {plan.channel_id} messages per week"
    sends = customer.recent_sends.get(plan.channel_id, ())
    if len(sends) < limit:
        return None
    start = t - WEEK
    counted = sorted(s for s in sends if start < s <= t)
    if len(counted) < limit:
        return None
    return counted[len(counted) - limit] + WEEK


def check_quiet_hours(
    plan: Plan, customer: CustomerFacts, intent: Intent, t: datetime, local: datetime
) -> datetime | str | None:
    """Legal quiet hours in the customer's zone: wait until they end."""
    clock = local.time()
    for start, end in plan.quiet_segments[local.weekday()]:
        if start <= clock and (end is None or clock < end):
            return instant_of(local.date(), end, local.tzinfo, t) or t + timedelta(minutes=1)
    return None


def check_contact_window(
    plan: Plan, customer: CustomerFacts, intent: Intent, t: datetime, local: datetime
) -> datetime | str | None:
    """The customer's own contact windows: wait for the next opening of one of them."""
    windows = customer.contact_windows
    if not windows:
        return None
    clock, weekday = local.time(), local.weekday()
    for window in windows:
        days, start, end = window.weekdays, window.start, window.end
        if start < end:
            if weekday in days and start <= clock < end:
                return None
        elif start == end:
            if weekday in days:
                return None
        elif (weekday in days and clock >= start) or ((weekday - 1) % 7 in days and clock < end):
            return None  # a window crossing midnight, opened today or yesterday
    return _next_opening(windows, local, t)


def _next_opening(
    windows: tuple[ContactWindow, ...], local: datetime, t: datetime
) -> datetime | str:
    day, weekday, zone = local.date(), local.weekday(), local.tzinfo
    for offset in range(WINDOW_SEARCH_DAYS):
        best = None
        for window in windows:
            if (weekday + offset) % 7 not in window.weekdays:
                continue
            # A window with start == end is open all day: it opens at midnight.
            start = window.start if window.start != window.end else _MIDNIGHT
            candidate = instant_of(day + timedelta(days=offset), start, zone, t)
            if candidate is not None and (best is None or candidate < best):
                best = candidate
        if best is not None:
            return best
    return "none of the customer's contact windows opens in the next two weeks"


#: Deferral rules, in evaluation order (after every deny rule and the time-zone check).
DEFER_RULES: tuple[tuple[str, DeferCheck], ...] = (
    ("pause", check_pause),
    ("frequency_cap", check_frequency_cap),
    ("quiet_hours", check_quiet_hours),
    ("contact_window", check_contact_window),
)


def settle(
    plan: Plan, customer: CustomerFacts, intent: Intent, zone: ZoneInfo
) -> tuple[str, datetime | str] | None:
    """Find the earliest moment from ``intent.at`` when every deferral rule is satisfied.

    The rules are tried in turn, cyclically; each failing rule moves the candidate moment
    forward to the earliest instant it could be satisfied, and the search stops once every
    rule in a row is satisfied at the same moment (a fixed point), or after ``MAX_ROUNDS``
    rounds. Returns ``None`` when all are satisfied now, ``(rule_id, instant)`` for a
    deferral (the rule that failed first), or ``(rule_id, message)`` when the rule can never be
    met or no fixed point was found (the engine denies).
    """
    checks = plan.defer_checks
    count = len(checks)
    t = intent.at
    if t.tzinfo is zone:
        t = t.astimezone(UTC)  # astimezone to the same zone would not normalise a wall time
    local = t.astimezone(zone)
    index = 0
    while True:  # the common case first: every rule satisfied right away
        rule_id, check = checks[index]
        result = check(plan, customer, intent, t, local)
        if result is not None:
            break
        index += 1
        if index == count:
            return None
    first = rule_id
    satisfied = 0
    for _ in range(count * MAX_ROUNDS):
        if result is None:
            satisfied += 1
            if satisfied == count:
                return first, t
        elif isinstance(result, str):
            return rule_id, result
        else:
            t, satisfied = result.astimezone(UTC), 0
            local = t.astimezone(zone)
        index = index + 1 if index + 1 < count else 0
        rule_id, check = checks[index]
        result = check(plan, customer, intent, t, local)
    return first, f"no moment satisfying every deferral rule found in {MAX_ROUNDS} rounds"
