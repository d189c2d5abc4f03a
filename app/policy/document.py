"""Frozen, typed picture of a loaded policy file.

A :class:`Policy` is what ``loader.load_policy`` builds from one YAML file after it passed the
JSON Schema and the semantic checks. Nothing here reads files or evaluates facts.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time
from types import MappingProxyType

#: The vault's field catalogue: the only profile field names a policy may mention.
PROFILE_FIELDS: frozenset[str] = frozenset(
    {
        "email",
        "phone",
        "first_name",
        "last_name",
        "birthday",
        "postcode",
        "city",
        "language",
        "interests",
        "purchase_history",
    }
)

#: How jurisdictions are written: ISO 3166-1 alpha-2, as in policies/schema.json.
JURISDICTION_CODE = re.compile(r"[A-Z]{2}")

LAWFUL_BASES = ("consent", "legitimate_interest", "contract")
MODELS = ("opt_in", "opt_out")
CONSENT_STATUSES: frozenset[str] = frozenset({"granted", "pending", "withdrawn", "expired", "none"})
#: The language every customer-facing text of a policy must have, shown when another is missing.
FALLBACK_LANGUAGE = "en"
WEEKDAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class PolicyError(Exception):
    """A policy file (or a set of them) is unreadable, invalid or inconsistent.

    ``problems`` lists every problem found, each naming the file, the location and what is wrong.
    """

    def __init__(self, problems: list[str] | str) -> None:
        self.problems: list[str] = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("; ".join(self.problems))


@dataclass(frozen=True, slots=True)
class Purpose:
    """Why data is used and on which lawful basis (GDPR Art. 5(1)(b), 6(1))."""

    id: str
    labels: Mapping[str, str]
    description: str  # English: what officers read, and the customers' fallback
    lawful_basis: str
    fields: frozenset[str]
    profiling: bool
    direct_marketing: bool
    consent_validity_days: int | None
    repermission_lead_days: int | None
    transactional: bool
    descriptions: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    def label_in(self, language: str) -> str:
        """The label in ``language``, else in English."""
        return self.labels.get(language) or self.labels.get(FALLBACK_LANGUAGE) or self.id

    def description_in(self, language: str) -> str:
        """The description in ``language``, else in English."""
        return self.descriptions.get(language) or self.description


@dataclass(frozen=True, slots=True)
class Channel:
    """A way of reaching a customer, the profile field holding its address and its opt-in rule."""

    id: str
    address_field: str
    double_opt_in: bool


@dataclass(frozen=True, slots=True)
class QuietHours:
    """A legal quiet period in the customer's local time.

    The period starts at ``start`` on each day in ``weekdays`` (0 = Monday) and ends at ``end``;
    when ``end`` is not after ``start`` it ends on the next day. ``end`` of ``None`` means 24:00.
    """

    channels: frozenset[str]
    start: time
    end: time | None
    weekdays: frozenset[int]


@dataclass(frozen=True, slots=True)
class Settings:
    """The rules that hold in every jurisdiction a policy declares."""

    model: Mapping[str, str]
    minimum_age: int | None
    soft_opt_in_allowed: bool
    soft_opt_in_channels: frozenset[str]
    soft_opt_in_purposes: frozenset[str]
    quiet_hours: tuple[QuietHours, ...]
    max_per_week: Mapping[str, int]
    customer_limits_apply: bool


@dataclass(frozen=True, slots=True)
class Policy:
    """One versioned policy file; ``sha256`` (hex of the exact file bytes) identifies it."""

    policy_id: str
    version: str
    title: str
    jurisdictions: tuple[str, ...]
    default: bool
    purposes: Mapping[str, Purpose]
    channels: Mapping[str, Channel]
    settings: Settings
    sha256: str
    source_text: str
    path: str | None = None

    def soft_opt_in_applies(self, purpose: str, channel: str) -> bool:
        """Whether existing customers may be contacted for ``purpose`` on ``channel`` without
        consent (ePrivacy Directive Art. 13(2)), until they object."""
        s = self.settings
        return (
            s.soft_opt_in_allowed
            and purpose in s.soft_opt_in_purposes
            and channel in s.soft_opt_in_channels
        )
