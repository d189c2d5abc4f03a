"""What the engine decides on: the intended message and what is known about the customer.

All facts are frozen, slotted dataclasses built by the caller (services load them from the
consent state, the vault's sharing choices and the outbox); the engine never fetches anything.
Datetimes are timezone-aware.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, time
from types import MappingProxyType
from typing import Any

_EMPTY: Mapping[Any, Any] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Intent:
    """One intended message: for ``purpose``, on ``channel``, at ``at``, using these fields.

    ``transactional`` marks a service message; it is honoured only for purposes that are not
    direct marketing (a marketing purpose cannot be declared transactional by its caller).
    ``template_fields`` must be shared by the customer for the purpose; ``fallback_fields``
    (used with a fallback value) must be allowed for the purpose, and are rendered only when
    shared, else the fallback is.
    """

    purpose: str
    channel: str
    at: datetime
    template_fields: frozenset[str] = frozenset()
    transactional: bool = False
    fallback_fields: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class ConsentFact:
    """Consent state for one (purpose, channel).

    ``status`` is one of ``granted``, ``pending`` (double opt-in not yet confirmed),
    ``withdrawn``, ``expired``, ``none``.
    """

    status: str
    granted_at: datetime | None = None
    expires_at: datetime | None = None
    lawful_basis: str | None = None
    confirmed: bool = False


NO_CONSENT = ConsentFact("none")


@dataclass(frozen=True, slots=True)
class ContactWindow:
    """A time the customer accepts messages, in their own time zone.

    Open on each weekday in ``weekdays`` (0 = Monday) from ``start`` to ``end``; an ``end`` not
    after ``start`` closes on the next day (``start == end``: the whole day).
    """

    weekdays: frozenset[int]
    start: time
    end: time


@dataclass(frozen=True, slots=True)
class CustomerFacts:
    """Everything the engine may know about one customer (no personal data beyond the id)."""

    customer_id: int
    jurisdiction: str
    timezone: str
    age_attested: int | None = None
    consents: Mapping[tuple[str, str], ConsentFact] = field(default_factory=lambda: _EMPTY)
    objected: bool = False
    suppressions: frozenset[str] = frozenset()
    verified_channels: frozenset[str] = frozenset()
    shared_fields: Mapping[str, frozenset[str]] = field(default_factory=lambda: _EMPTY)
    contact_windows: tuple[ContactWindow, ...] = ()
    weekly_cap: int | None = None
    paused_until: datetime | None = None
    recent_sends: Mapping[str, tuple[datetime, ...]] = field(default_factory=lambda: _EMPTY)
    existing_customer: bool = False
