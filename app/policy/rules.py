"""The deny rules, in the order the engine applies them.

Each check takes the compiled :class:`~app.policy.plan.Plan`, the customer and the intent and
returns ``None`` when the rule passes or a message (free of personal data) when it denies.
Rules that do not apply to a plan are left out of ``plan.deny_checks`` at compile time.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from app.policy.facts import NO_CONSENT, CustomerFacts, Intent

if TYPE_CHECKING:
    from app.policy.plan import Plan

DenyCheck = Callable[["Plan", CustomerFacts, Intent], "str | None"]

_NO_FIELDS: frozenset[str] = frozenset()


def check_marketing_purpose(plan: Plan, customer: CustomerFacts, intent: Intent) -> str | None:
    """Campaign messages are direct marketing: they may only use a direct-marketing purpose.

    Applied to purposes that are not direct marketing, where only the customer's own
    relationship messages (``intent.transactional``) may pass.
    """
    if intent.transactional:
        return None
    return (
        f"purpose {plan.purpose_id!r} is not direct marketing; a campaign message may only use "
        "a direct-marketing purpose"
    )


def check_objection(plan: Plan, customer: CustomerFacts, intent: Intent) -> str | None:
    """GDPR Art. 21(2)-(3): after an objection, no direct marketing or profiling at all."""
    if customer.objected:
        return f"the customer objected to direct marketing (Art. 21); {plan.label} is blocked"
    return None


def check_suppression(plan: Plan, customer: CustomerFacts, intent: Intent) -> str | None:
    """A bounced, complained or globally opted-out address is never contacted."""
    hit = customer.suppressions & plan.suppression_keys
    if hit:
        what = "global opt-out" if "*" in hit else f"{plan.channel_id} suppressed"
        return f"{what}: nothing is sent on {plan.channel_id}"
    return None


def check_minimum_age(plan: Plan, customer: CustomerFacts, intent: Intent) -> str | None:
    """Direct marketing only to customers who confirmed the jurisdiction's minimum age."""
    age = customer.age_attested
    if age is None or age < plan.minimum_age:
        return f"the customer has not confirmed being at least {plan.minimum_age}"
    return None


def check_lawful_basis(plan: Plan, customer: CustomerFacts, intent: Intent) -> str | None:
    """Consent, soft opt-in, legitimate interest or contract, as the policy says."""
    status = customer.consents.get(plan.consent_key, NO_CONSENT).status
    if status in plan.required_statuses:
        return None
    if status in plan.soft_opt_in_statuses and customer.existing_customer:
        return None
    if status == "withdrawn":
        return f"the customer withdrew or opted out of {plan.label}"
    if status == "none":
        return f"no consent for {plan.label}" + (
            " (soft opt-in needs an existing customer)" if plan.soft_opt_in_statuses else ""
        )
    return f"consent status {status!r} is not a lawful basis for {plan.label}"


def check_consent_expired(plan: Plan, customer: CustomerFacts, intent: Intent) -> str | None:
    """Granted consent stops counting at its expiry or after the purpose's validity period."""
    consent = customer.consents.get(plan.consent_key, NO_CONSENT)
    status = consent.status
    if status != "granted" and status != "expired":
        return None
    if status == "expired":
        return f"consent for {plan.label} has expired"
    expires_at = consent.expires_at
    if expires_at is not None and expires_at <= intent.at:
        return f"consent for {plan.label} has expired"
    if plan.validity is not None:
        granted_at = consent.granted_at
        if granted_at is None:
            return f"consent for {plan.label} has no grant date, its validity cannot be shown"
        if granted_at <= intent.at - plan.validity:
            return f"consent for {plan.label} is older than {plan.validity.days} days"
    return None


def check_double_opt_in(plan: Plan, customer: CustomerFacts, intent: Intent) -> str | None:
    """Consent awaiting confirmation (or unconfirmed where double opt-in is required)."""
    consent = customer.consents.get(plan.consent_key, NO_CONSENT)
    if consent.status == "pending":
        return f"consent for {plan.label} awaits confirmation"
    if plan.require_confirmed and consent.status == "granted" and not consent.confirmed:
        return f"consent for {plan.label} was not confirmed (double opt-in)"
    return None


def check_channel_address(plan: Plan, customer: CustomerFacts, intent: Intent) -> str | None:
    """The channel's address must be present and verified."""
    if plan.channel_id not in customer.verified_channels:
        return f"no verified {plan.address_field} for {plan.channel_id}"
    return None


def check_data_minimisation(plan: Plan, customer: CustomerFacts, intent: Intent) -> str | None:
    """Every template field must be allowed for the purpose; those without a fallback must
    also be shared by the customer for it (a field with one shows its fallback instead)."""
    fields = intent.template_fields
    used = fields | intent.fallback_fields
    if not used:
        return None
    shared = customer.shared_fields.get(plan.purpose_id, _NO_FIELDS)
    if used <= plan.purpose_fields and fields <= shared:
        return None
    not_allowed = used - plan.purpose_fields
    if not_allowed:
        names = ", ".join(sorted(not_allowed))
        return f"template uses field(s) not allowed for {plan.purpose_id}: {names}"
    names = ", ".join(sorted(fields - shared))
    return f"the customer has not shared field(s) for {plan.purpose_id}: {names}"


#: Deny rules after the lookups (jurisdiction, purpose, channel), in evaluation order.
DENY_RULES: tuple[tuple[str, DenyCheck], ...] = (
    ("purpose_not_direct_marketing", check_marketing_purpose),
    ("objection", check_objection),
    ("suppression", check_suppression),
    ("minimum_age", check_minimum_age),
    ("lawful_basis", check_lawful_basis),
    ("consent_expired", check_consent_expired),
    ("double_opt_in", check_double_opt_in),
    ("channel_address", check_channel_address),
    ("data_minimisation", check_data_minimisation),
)
