"""Segments: which customers a campaign is meant for, as a versioned JSON document.

A segment (``Campaign.segment_json``) is a JSON object whose keys are condition names; every
condition must hold (AND). ``{}`` means "everyone the policy lets us contact". Version 1::

    {
      "version": 1,
      "consent_age_days": {"at_least": 30, "at_most": 365},   # consent for purpose+channel
      "consent_expiring_within_days": 30,                     # re-permission campaigns
      "jurisdictions": ["EU"], "languages": ["it", "en"], "timezones": ["Europe/Rome"],
      "interests_any": ["wine", "books"],        # shared attribute "interests"
      "cities": ["Milano"],                      # shared attribute "city" (case-insensitive)
      "postcode_prefixes": ["201"],              # shared attribute "postcode"
      "spend_tiers": ["high"],                   # shared attribute "purchase_history"
      "value_tier": ["champions"]                # stored RFM score (app.marketing)
    }

``value_tiers`` is the former name of ``spend_tiers``: still read, and saved under the new
name (:data:`RENAMED`), so stored segments keep working while the console shows one name.

Conditions on *shared attributes* select only customers who shared that field for the
campaign's purpose; their values are decrypted (in batches, one access-log entry per run) and
matched in Python. Every other condition is SQL. The audience policy still decides who may be
contacted: a segment only narrows the candidates.

Extension point: new conditions (RFM tiers, say) subclass :class:`Condition` and call
:func:`register_condition`; the JSON key becomes available to every campaign.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, select
from sqlalchemy.orm import aliased

from app.customers.models import Customer
from app.errors import InvalidInput
from app.vault.models import ProfileField, SharingChoice

SEGMENT_VERSION = 1


@dataclass(frozen=True, slots=True)
class SegmentContext:
    """What a condition may depend on besides its own parameters."""

    purpose: str
    channel: str
    at: datetime


class Condition:
    """One segment condition: parses its JSON value, filters in SQL, matches shared values.

    Subclasses set ``name`` and override :meth:`parse` and :meth:`where`; conditions over a
    shared attribute also set ``shared_field`` and override :meth:`matches`.
    """

    name: str = ""
    description: str = ""
    #: What the segment builder calls it (defaults to the name).
    label: str = ""
    #: How the segment builder asks for the value: ``range`` (days at least / at most),
    #: ``days``, ``list`` (comma-separated), ``choices`` (of :attr:`choices`), ``hour``, or
    #: ``json`` (only in the segment's JSON).
    form: str = "json"
    choices: tuple[str, ...] = ()
    #: The profile field this condition reads (decrypted), or ``None`` for SQL-only ones.
    shared_field: str | None = None

    def parse(self, value: Any) -> Any:
        """Validate the JSON ``value``; return the parameters. Raise ``InvalidInput``."""
        raise NotImplementedError

    def where(self, params: Any, ctx: SegmentContext) -> ColumnElement[bool] | None:
        """A SQL condition correlated to ``customers`` (or ``None`` for no SQL narrowing)."""
        return None

    def matches(self, params: Any, value: str, ctx: SegmentContext) -> bool:
        """Whether the decrypted ``value`` of :attr:`shared_field` satisfies the condition."""
        return True


_REGISTRY: dict[str, Condition] = {}
#: Former condition names, still read: ``{old: new}``.
RENAMED = {"value_tiers": "spend_tiers"}


def register_condition(condition: Condition) -> Condition:
    """Make ``condition`` available under ``condition.name`` (replacing one of that name)."""
    if not condition.name or condition.name == "version":
        raise ValueError("a segment condition needs a name other than 'version'")
    _REGISTRY[condition.name] = condition
    return condition


def registered_conditions() -> Mapping[str, Condition]:
    """Every registered condition by name (for the marketer console's segment builder)."""
    _load_builtins()
    return dict(_REGISTRY)


def _load_builtins() -> None:
    from app.campaigns import segment_conditions  # noqa: F401  (registers the built-ins)


@dataclass(frozen=True, slots=True)
class Segment:
    """A parsed segment: each condition with its validated parameters."""

    parts: tuple[tuple[Condition, Any], ...] = ()

    @property
    def shared_fields(self) -> frozenset[str]:
        """The profile fields that must be decrypted to evaluate this segment."""
        return frozenset(c.shared_field for c, _ in self.parts if c.shared_field)

    def where(self, ctx: SegmentContext) -> ColumnElement[bool] | None:
        """The SQL part of the segment (AND of every condition's clause), or ``None``."""
        clauses = [c for c in (cond.where(p, ctx) for cond, p in self.parts) if c is not None]
        clauses += [shares_field(field, ctx.purpose) for field in sorted(self.shared_fields)]
        return and_(*clauses) if clauses else None

    def candidate_filter(self, ctx: SegmentContext) -> Callable[[Select], Select] | None:
        """A function narrowing an audience query (over ``customers``) to this segment."""
        clause = self.where(ctx)
        if clause is None:
            return None
        return lambda query: query.where(clause)

    def matches(self, values: Mapping[str, str], ctx: SegmentContext) -> bool:
        """Whether decrypted shared ``values`` satisfy every shared-attribute condition."""
        for condition, params in self.parts:
            field = condition.shared_field
            if not field:
                continue
            if field not in values or not condition.matches(params, values[field], ctx):
                return False
        return True


def shares_field(field: str, purpose: str) -> ColumnElement[bool]:
    """The customer shared ``field`` for ``purpose`` and holds a value for it."""
    choice, value = aliased(SharingChoice), aliased(ProfileField)
    shared = exists(
        select(choice.customer_id)
        .where(
            choice.customer_id == Customer.id,
            choice.field == field,
            choice.purpose == purpose,
            choice.shared.is_(True),
        )
        .correlate(Customer)
    )
    held = exists(
        select(value.customer_id)
        .where(value.customer_id == Customer.id, value.field == field)
        .correlate(Customer)
    )
    return and_(shared, held)


def parse_segment(document: str | Mapping[str, Any] | None) -> Segment:
    """Parse and validate a segment (JSON text or object); ``InvalidInput`` names the key."""
    data = _load(document)
    version = data.pop("version", SEGMENT_VERSION)
    if version != SEGMENT_VERSION:
        raise InvalidInput(f"Segment version {version!r} is not supported (use 1).")
    conditions = registered_conditions()
    parts = []
    for key in sorted(data):
        condition = conditions.get(key)
        if condition is None:
            known = ", ".join(sorted(conditions))
            raise InvalidInput(f"Unknown segment condition {key!r}. Known: {known}.")
        parts.append((condition, condition.parse(data[key])))
    return Segment(tuple(parts))


def _load(document: str | Mapping[str, Any] | None) -> dict[str, Any]:
    if document is None or document == "":
        return {}
    if isinstance(document, str):
        try:
            document = json.loads(document)
        except (ValueError, RecursionError):  # RecursionError: nested beyond any real segment
            raise InvalidInput("The segment is not valid JSON.") from None
    if not isinstance(document, Mapping):
        raise InvalidInput("A segment is a JSON object of conditions.")
    data = dict(document)
    for old, new in RENAMED.items():
        if old in data:
            if new in data:
                raise InvalidInput(f"Segment {old!r} is the former name of {new!r}: use one.")
            data[new] = data.pop(old)
    return data


def segment_json(document: str | Mapping[str, Any] | None) -> str:
    """The canonical JSON text of a valid segment (validated first)."""
    parse_segment(document)
    data = _load(document)
    data.setdefault("version", SEGMENT_VERSION)
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
