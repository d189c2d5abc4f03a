"""The built-in segment conditions (see :mod:`app.campaigns.segments` for the schema)."""

from __future__ import annotations

import json
import re
import zoneinfo
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import ColumnElement, exists, select
from sqlalchemy.orm import aliased

from app.campaigns.segments import Condition, SegmentContext, register_condition
from app.customers.models import Customer
from app.errors import InvalidInput
from app.ledger.models import ConsentState

MAX_DAYS = 3650
MAX_VALUES = 200
_CODE = re.compile(r"[A-Za-z0-9_-]{1,64}")

#: Value tiers by spend (cents) over the last 365 days: tier -> [from, to).
VALUE_TIERS: dict[str, tuple[int, int | None]] = {
    "none": (0, 1),
    "low": (1, 10_000),
    "mid": (10_000, 50_000),
    "high": (50_000, None),
}


def _days(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_DAYS:
        raise InvalidInput(f"Segment {name} must be a whole number of days from 0 to {MAX_DAYS}.")
    return value


def _strings(name: str, value: Any, pattern: re.Pattern[str] = _CODE) -> frozenset[str]:
    if not isinstance(value, list) or not value or len(value) > MAX_VALUES:
        raise InvalidInput(f"Segment {name} must be a list of 1 to {MAX_VALUES} values.")
    if not all(isinstance(v, str) and pattern.fullmatch(v) for v in value):
        raise InvalidInput(f"Segment {name} has a value that is not allowed.")
    return frozenset(value)


def _consent_row(ctx: SegmentContext, *conditions) -> ColumnElement[bool]:
    """EXISTS a consent row of the customer for the purpose and channel meeting ``conditions``.

    ``conditions`` are functions of an alias of ``consent_state``: the audience query may
    already join that table, and the alias keeps this subquery from correlating to it.
    """
    state = aliased(ConsentState)
    return exists(
        select(state.customer_id)
        .where(
            state.customer_id == Customer.id,
            state.purpose == ctx.purpose,
            state.channel == ctx.channel,
            *(condition(state) for condition in conditions),
        )
        .correlate(Customer)
    )


class ConsentAge(Condition):
    """Consent for the campaign's purpose and channel granted at least / at most N days ago."""

    name = "consent_age_days"
    label = "Consent age (days)"
    description = "Consent for the purpose and channel granted at least / at most N days ago."
    form = "range"

    def parse(self, value: Any) -> tuple[int | None, int | None]:
        """``{"at_least": N, "at_most": M}`` (either may be left out)."""
        if not isinstance(value, dict) or not value or set(value) - {"at_least", "at_most"}:
            raise InvalidInput("Segment consent_age_days takes at_least and/or at_most.")
        low = _days("consent_age_days.at_least", value["at_least"]) if "at_least" in value else None
        high = _days("consent_age_days.at_most", value["at_most"]) if "at_most" in value else None
        if low is not None and high is not None and low > high:
            raise InvalidInput("Segment consent_age_days: at_least is greater than at_most.")
        return low, high

    def where(self, params: tuple[int | None, int | None], ctx: SegmentContext):
        """The consent row's ``granted_at`` lies in the window."""
        low, high = params
        conditions = [lambda s: s.granted_at.is_not(None)]
        if low is not None:
            conditions.append(lambda s: s.granted_at <= ctx.at - timedelta(days=low))
        if high is not None:
            conditions.append(lambda s: s.granted_at >= ctx.at - timedelta(days=high))
        return _consent_row(ctx, *conditions)


class ConsentExpiring(Condition):
    """Granted consent that expires within N days (for re-permission campaigns)."""

    name = "consent_expiring_within_days"
    label = "Consent expiring within (days)"
    description = "Consent that expires within N days (re-permission campaigns)."
    form = "days"

    def parse(self, value: Any) -> int:
        """A whole number of days."""
        return _days(self.name, value)

    def where(self, params: int, ctx: SegmentContext):
        """Status granted and ``at < expires_at <= at + N days``."""
        return _consent_row(
            ctx,
            lambda s: s.status == "granted",
            lambda s: s.expires_at > ctx.at,
            lambda s: s.expires_at <= ctx.at + timedelta(days=params),
        )


class ColumnIn(Condition):
    """A customer setting (not personal data: needed by every decision) is one of the values."""

    form = "list"

    def __init__(self, name: str, column: Any, label: str, description: str, check=None) -> None:
        self.name, self.column, self.label = name, column, label
        self.description, self.check = description, check

    def parse(self, value: Any) -> frozenset[str]:
        """A non-empty list of codes."""
        values = _strings(self.name, value, re.compile(r"[A-Za-z0-9_+/-]{1,64}"))
        if self.check and not all(self.check(v) for v in values):
            raise InvalidInput(f"Segment {self.name} has a value that is not known.")
        return values

    def where(self, params: frozenset[str], ctx: SegmentContext):
        """``column IN values``."""
        return self.column.in_(sorted(params))


@cache
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


class InterestsAny(Condition):
    """Shared interests include any of the tags."""

    name = "interests_any"
    label = "Interests (any of)"
    description = "Shared interests include any of these tags, e.g. wine, books."
    form = "list"
    shared_field = "interests"

    def parse(self, value: Any) -> frozenset[str]:
        """Lower-case tags."""
        return _strings(self.name, value, re.compile(r"[a-z0-9][a-z0-9-]{0,31}"))

    def matches(self, params: frozenset[str], value: str, ctx: SegmentContext) -> bool:
        """Any tag in common."""
        return not params.isdisjoint(value.split(","))


class Cities(Condition):
    """The shared city is one of the names (case- and space-insensitive)."""

    name = "cities"
    label = "Cities"
    description = "Shared city is one of these (case-insensitive)."
    form = "list"
    shared_field = "city"

    def parse(self, value: Any) -> frozenset[str]:
        """City names, compared case-insensitively."""
        if not isinstance(value, list) or not value or len(value) > MAX_VALUES:
            raise InvalidInput(f"Segment cities must be a list of 1 to {MAX_VALUES} names.")
        if not all(isinstance(v, str) and 0 < len(v.strip()) <= 100 for v in value):
            raise InvalidInput("Segment cities has a name that is empty or too long.")
        return frozenset(_fold(v) for v in value)

    def matches(self, params: frozenset[str], value: str, ctx: SegmentContext) -> bool:
        """Equal after folding."""
        return _fold(value) in params


def _fold(text: str) -> str:
    return " ".join(text.casefold().split())


class PostcodePrefixes(Condition):
    """The shared postcode starts with one of the prefixes."""

    name = "postcode_prefixes"
    label = "Postcode prefixes"
    description = "Shared postcode starts with one of these, e.g. 201."
    form = "list"
    shared_field = "postcode"

    def parse(self, value: Any) -> tuple[str, ...]:
        """Upper-case prefixes."""
        prefixes = _strings(self.name, value, re.compile(r"[A-Za-z0-9 -]{1,10}"))
        return tuple(sorted(p.upper() for p in prefixes))

    def matches(self, params: tuple[str, ...], value: str, ctx: SegmentContext) -> bool:
        """Prefix match on the normalised postcode."""
        return value.upper().startswith(params)


class SpendTiers(Condition):
    """Spend tier over the last 365 days from the shared purchase history (see VALUE_TIERS)."""

    name = "spend_tiers"
    label = "Spend over the last year"
    description = (
        "Spend tier over the last year, from the shared purchase history: "
        "none, low (under 100), mid (under 500), high."
    )
    form = "choices"
    choices = tuple(VALUE_TIERS)
    shared_field = "purchase_history"

    def parse(self, value: Any) -> frozenset[str]:
        """Tier names."""
        tiers = _strings(self.name, value)
        if not tiers <= VALUE_TIERS.keys():
            raise InvalidInput(f"Segment spend_tiers: tiers are {', '.join(VALUE_TIERS)}.")
        return tiers

    def matches(self, params: frozenset[str], value: str, ctx: SegmentContext) -> bool:
        """The customer's tier is among the wanted ones."""
        return value_tier(value, ctx.at) in params


def value_tier(purchase_history: str, now: datetime) -> str:
    """The tier of a (decrypted, normalised) purchase history at ``now``."""
    since = (now - timedelta(days=365)).strftime("%Y-%m-%d")
    try:
        rows = json.loads(purchase_history)
        spend = sum(int(r["amount_cents"]) for r in rows if str(r["at"])[:10] >= since)
    except (ValueError, TypeError, KeyError):
        return "none"
    for tier, (low, high) in VALUE_TIERS.items():
        if spend >= low and (high is None or spend < high):
            return tier
    return "none"


for _condition in (
    ConsentAge(),
    ConsentExpiring(),
    ColumnIn(
        "jurisdictions", Customer.jurisdiction, "Jurisdictions", "Customer jurisdiction, e.g. IT."
    ),
    ColumnIn("languages", Customer.language, "Languages", "Customer language, e.g. it, en."),
    ColumnIn(
        "timezones",
        Customer.timezone,
        "Time zones",
        "Customer time zone, e.g. Europe/Rome.",
        _zones().__contains__,
    ),
    InterestsAny(),
    Cities(),
    PostcodePrefixes(),
    SpendTiers(),
):
    register_condition(_condition)
