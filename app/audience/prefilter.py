"""The engine's coarse deny rules as data: what the audience decides in SQL.

:func:`prefilter_for` describes, for one jurisdiction and intent, the deny rules that read only
columns a database holds (objection, suppressions, attested age, the consent row, verified
channels, shared fields), in the engine's rule order. :meth:`Prefilter.first_failure` is their
exact Python mirror, tested against :func:`~app.policy.engine.decide` with Hypothesis: if it
names rule R, ``decide`` denies with R; if it names none, no prefilter rule denies.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.policy.decision import Decision
from app.policy.engine import resolve
from app.policy.facts import NO_CONSENT, CustomerFacts, Intent
from app.policy.policyset import PolicySet

#: Rules a prefilter can decide, in engine order.
PREFILTER_RULES = (
    "jurisdiction_unknown",
    "purpose_unknown",
    "channel_unknown",
    "purpose_not_direct_marketing",
    "objection",
    "suppression",
    "minimum_age",
    "lawful_basis",
    "consent_expired",
    "double_opt_in",
    "channel_address",
    "data_minimisation",
)
#: Rules always left to ``decide`` (need the time zone, clocks and send history).
PYTHON_RULES = ("timezone_unknown", "pause", "frequency_cap", "quiet_hours", "contact_window")
_NO_FIELDS: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Prefilter:
    """Coarse conditions for one (jurisdiction, purpose, channel, at); see the module docstring.

    A missing consent row counts as status ``none`` with every other column null/false.
    """

    jurisdiction: str
    purpose: str
    channel: str
    at: datetime
    policy_hash: str
    #: jurisdiction_unknown / purpose_unknown / channel_unknown, or
    #: purpose_not_direct_marketing for a campaign message: every customer is denied.
    deny_all_rule: str | None
    #: objection: deny when ``objected`` is true.
    exclude_objected: bool
    #: suppression: deny when any of the customer's suppressions is in this set.
    excluded_suppressions: frozenset[str]
    #: minimum_age: deny when ``age_attested`` is null or below it (None: rule not applied).
    minimum_age: int | None
    #: lawful_basis: deny unless the consent status is in ``required_consent_statuses``, or is
    #: in ``soft_opt_in_statuses`` and the customer is an existing customer.
    required_consent_statuses: frozenset[str]
    soft_opt_in_statuses: frozenset[str]
    #: consent_expired (when ``check_consent_expiry``), for status granted or expired only: deny
    #: when status is expired, or ``expires_at <= at``, or (``consent_granted_after`` set and
    #: (``granted_at`` is null or ``granted_at <= consent_granted_after``)).
    check_consent_expiry: bool
    consent_granted_after: datetime | None
    #: double_opt_in (when ``check_double_opt_in``): deny when status is pending, or when
    #: ``require_confirmed`` and status is granted and ``confirmed`` is false.
    check_double_opt_in: bool
    require_confirmed: bool
    #: channel_address: deny when this channel is not among the verified channels.
    require_verified_channel: str
    #: data_minimisation: deny everyone when non-empty (the template uses fields the purpose
    #: may not use, with a fallback or not); otherwise deny when these (the fields without a
    #: fallback) are not all shared for ``purpose``.
    disallowed_template_fields: frozenset[str]
    required_shared_fields: frozenset[str]
    #: The rule ids above that apply, in the order they are evaluated.
    rule_order: tuple[str, ...]
    #: Rules ``decide`` still applies to the customers that pass.
    remaining_rules: tuple[str, ...] = PYTHON_RULES

    def first_failure(self, customer: CustomerFacts) -> str | None:
        """The rule id of the first coarse condition ``customer`` fails, or ``None``."""
        if customer.jurisdiction != self.jurisdiction:
            raise ValueError("the customer belongs to another jurisdiction than the prefilter")
        if self.deny_all_rule is not None:
            return self.deny_all_rule
        if self.exclude_objected and customer.objected:
            return "objection"
        if customer.suppressions & self.excluded_suppressions:
            return "suppression"
        if self.minimum_age is not None and (
            customer.age_attested is None or customer.age_attested < self.minimum_age
        ):
            return "minimum_age"
        return self._consent_failure(customer) or self._delivery_failure(customer)

    def _consent_failure(self, customer: CustomerFacts) -> str | None:
        consent = customer.consents.get((self.purpose, self.channel), NO_CONSENT)
        status = consent.status
        if status not in self.required_consent_statuses and not (
            customer.existing_customer and status in self.soft_opt_in_statuses
        ):
            return "lawful_basis"
        if self.check_consent_expiry and status in ("granted", "expired"):
            after = self.consent_granted_after
            if (
                status == "expired"
                or (consent.expires_at is not None and consent.expires_at <= self.at)
                or (
                    after is not None
                    and (consent.granted_at is None or consent.granted_at <= after)
                )
            ):
                return "consent_expired"
        if self.check_double_opt_in and (
            status == "pending"
            or (self.require_confirmed and status == "granted" and not consent.confirmed)
        ):
            return "double_opt_in"
        return None

    def _delivery_failure(self, customer: CustomerFacts) -> str | None:
        if self.require_verified_channel not in customer.verified_channels:
            return "channel_address"
        if self.disallowed_template_fields:
            return "data_minimisation"
        shared = customer.shared_fields.get(self.purpose, _NO_FIELDS)
        if not self.required_shared_fields <= shared:
            return "data_minimisation"
        return None


def prefilter_for(policy_set: PolicySet, jurisdiction: str, intent: Intent) -> Prefilter:
    """Describe the coarse conditions for customers of ``jurisdiction`` receiving ``intent``."""
    found = resolve(policy_set, jurisdiction, intent.purpose, intent.channel)
    fields = intent.template_fields
    used = fields | intent.fallback_fields
    common: dict[str, Any] = {
        "jurisdiction": jurisdiction,
        "purpose": intent.purpose,
        "channel": intent.channel,
        "at": intent.at,
        "policy_hash": found.policy_hash,
        "excluded_suppressions": frozenset({intent.channel, "*"}),
        "require_verified_channel": intent.channel,
    }
    if isinstance(found, Decision):
        return _denying_all(common, found.rule_id, fields)
    plan = found
    applied = {rule_id for rule_id, _ in plan.deny_checks}
    if "purpose_not_direct_marketing" in applied:
        if not intent.transactional:
            return _denying_all(common, "purpose_not_direct_marketing", fields)
        applied.discard("purpose_not_direct_marketing")  # a relationship message passes it
    return Prefilter(
        **common,
        deny_all_rule=None,
        exclude_objected="objection" in applied,
        minimum_age=plan.minimum_age if "minimum_age" in applied else None,
        required_consent_statuses=plan.required_statuses,
        soft_opt_in_statuses=plan.soft_opt_in_statuses,
        check_consent_expiry="consent_expired" in applied,
        consent_granted_after=intent.at - plan.validity if plan.validity else None,
        check_double_opt_in="double_opt_in" in applied,
        require_confirmed=plan.require_confirmed,
        disallowed_template_fields=used - plan.purpose_fields,
        required_shared_fields=fields if used <= plan.purpose_fields else _NO_FIELDS,
        rule_order=tuple(r for r in PREFILTER_RULES if r in applied),
    )


def _denying_all(common: dict, rule_id: str, fields: frozenset[str]) -> Prefilter:
    """A prefilter under which every customer is denied by ``rule_id``."""
    return Prefilter(
        **common,
        deny_all_rule=rule_id,
        exclude_objected=False,
        minimum_age=None,
        required_consent_statuses=_NO_FIELDS,
        soft_opt_in_statuses=_NO_FIELDS,
        check_consent_expiry=False,
        consent_granted_after=None,
        check_double_opt_in=False,
        require_confirmed=False,
        disallowed_template_fields=_NO_FIELDS,
        required_shared_fields=fields,
        rule_order=(rule_id,),
    )
