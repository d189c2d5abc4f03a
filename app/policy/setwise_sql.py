"""The engine's :class:`~app.policy.prefilter.Prefilter` translated into SQL.

:func:`audience_columns` gives, for every candidate customer, a *reason code*: a ``CASE`` over
every prefilter field in the engine's rule order, so that the first failing rule is found by
the database. A code is the rule id, or the rule id and a detail that changes the engine's
message (``lawful_basis:withdrawn``, ``suppression:*``, ``data_minimisation:first_name,``);
:data:`PASSED` means every prefilter rule passed. A missing consent row is status ``none``.

The Python rules (pause, cap, quiet hours, windows) read only the customer's time zone,
preferences and recent sends. A customer whose preferences are empty and who has no recent
send (``limited`` is false) gets the same decision as anyone of the same jurisdiction and time
zone, so those are decided once per (jurisdiction, time zone) and never streamed one by one.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import (
    ColumnElement,
    String,
    and_,
    case,
    cast,
    func,
    literal,
    not_,
    or_,
    true,
)
from sqlalchemy import select as sql_select

from app.delivery.models import SendLog, Suppression
from app.ledger.models import ConsentState
from app.policy.facts_db import SEND_WINDOW, VERIFIED_COLUMNS
from app.policy.policyset import PolicySet
from app.policy.prefilter import Prefilter
from app.vault.models import ContactPreferences, Customer, SharingChoice

#: Reason code of a customer who passed every prefilter rule and set no limits.
PASSED = "~passed"
#: Reason code prefix of a survivor whose own limits must be read (followed by the id).
LIMITED = "~limited:"
#: Jurisdiction that no policy claims (for the prefilter of unclaimed jurisdictions).
UNCLAIMED = "?"
#: Stored forms of "no contact windows".
NO_WINDOWS = ("[]", "")

Branch = tuple[tuple[str, ...] | None, Prefilter]


def _text(value: str) -> ColumnElement[str]:
    return literal(value, String)


def consent_on(purpose: str, channel: str) -> ColumnElement[bool]:
    """How ``consent_state`` joins a customer for one purpose and channel (LEFT OUTER)."""
    return and_(
        ConsentState.customer_id == Customer.id,
        ConsentState.purpose == purpose,
        ConsentState.channel == channel,
    )


def _suppressed(channels: Sequence[str]) -> ColumnElement[bool]:
    # Uncorrelated IN: one hashed set per query (PostgreSQL hashed SubPlan, SQLite ephemeral
    # index) instead of one correlated lookup per candidate.
    return Customer.id.in_(
        sql_select(Suppression.customer_id).where(Suppression.channel.in_(channels))
    )


def _shared(purpose: str, fields: Sequence[str]) -> ColumnElement[bool]:
    """Whether the customer shares every one of ``fields`` for ``purpose``."""
    return Customer.id.in_(
        sql_select(SharingChoice.customer_id)
        .where(
            SharingChoice.purpose == purpose,
            SharingChoice.field.in_(fields),
            SharingChoice.shared.is_(True),
        )
        .group_by(SharingChoice.customer_id)
        .having(func.count() == len(fields))
    )


def _unshared_codes(prefilter: Prefilter) -> list[tuple[ColumnElement[bool], ColumnElement]]:
    fields = sorted(prefilter.required_shared_fields)
    if not fields:
        return []
    purpose = prefilter.purpose
    detail: ColumnElement = _text("data_minimisation:")
    for name in fields:
        detail = detail + case((_shared(purpose, [name]), _text("")), else_=_text(f"{name},"))
    return [(not_(_shared(purpose, fields)), detail)]


def _status() -> ColumnElement[str]:
    return func.coalesce(ConsentState.status, _text("none"))


def _consent_codes(prefilter: Prefilter) -> list[tuple[ColumnElement[bool], ColumnElement]]:
    status = _status()
    basis = or_(
        status.in_(sorted(prefilter.required_consent_statuses)),
        and_(
            Customer.customer_since.is_not(None),
            status.in_(sorted(prefilter.soft_opt_in_statuses)),
        ),
    )
    whens: list[tuple[ColumnElement[bool], ColumnElement]] = [
        (not_(basis), _text("lawful_basis:") + status)
    ]
    granted = status == "granted"
    at, after = prefilter.at, prefilter.consent_granted_after
    if prefilter.check_consent_expiry:
        expired = or_(status == "expired", and_(granted, ConsentState.expires_at <= at))
        whens.append((expired, _text("consent_expired")))
        if after is not None:
            undated = and_(granted, ConsentState.granted_at.is_(None))
            whens.append((undated, _text("consent_expired:undated")))
            whens.append(
                (and_(granted, ConsentState.granted_at <= after), _text("consent_expired:old"))
            )
    if prefilter.check_double_opt_in:
        whens.append((status == "pending", _text("double_opt_in:pending")))
        if prefilter.require_confirmed:
            unconfirmed = and_(granted, not_(ConsentState.confirmed))
            whens.append((unconfirmed, _text("double_opt_in:unconfirmed")))
    return whens


def _customer_codes(prefilter: Prefilter) -> list[tuple[ColumnElement[bool], ColumnElement]]:
    whens: list[tuple[ColumnElement[bool], ColumnElement]] = []
    if prefilter.exclude_objected:
        whens.append((Customer.objected_at.is_not(None), _text("objection")))
    excluded = prefilter.excluded_suppressions
    if "*" in excluded:
        whens.append((_suppressed(["*"]), _text("suppression:*")))
    others = sorted(excluded - {"*"})
    if others:
        whens.append((_suppressed(others), _text("suppression")))
    if prefilter.minimum_age is not None:
        too_young = or_(
            Customer.age_attested.is_(None), Customer.age_attested < prefilter.minimum_age
        )
        whens.append((too_young, _text("minimum_age")))
    return whens


def reason_code(prefilter: Prefilter, survivor: ColumnElement[str]) -> ColumnElement[str]:
    """The ``CASE`` giving the first prefilter rule a customer fails, else ``survivor``."""
    if prefilter.deny_all_rule is not None:
        return _text(prefilter.deny_all_rule)
    whens = _customer_codes(prefilter) + _consent_codes(prefilter)
    verified = VERIFIED_COLUMNS.get(prefilter.require_verified_channel)
    whens.append((not_(verified) if verified is not None else true(), _text("channel_address")))
    if prefilter.disallowed_template_fields:
        whens.append((true(), _text("data_minimisation")))
    whens += _unshared_codes(prefilter)
    return case(*whens, else_=survivor)


def branches(policy_set: PolicySet, prefilter_of) -> list[Branch]:
    """One prefilter per policy: ``(jurisdictions, prefilter)``, the catch-all last (``None``).

    ``prefilter_of(jurisdiction)`` builds the prefilter for a representative jurisdiction.
    """
    default = policy_set.default
    found: list[Branch] = [
        (tuple(p.jurisdictions), prefilter_of(p.jurisdictions[0]))
        for p in policy_set.policies
        if p is not default and p.jurisdictions
    ]
    fallback = default.jurisdictions[0] if default and default.jurisdictions else UNCLAIMED
    found.append((None, prefilter_of(fallback)))
    return found


def jurisdiction_reason(parts: list[Branch], channel: str, at: datetime) -> ColumnElement[str]:
    """The reason code of each customer under the policy governing their jurisdiction.

    Survivors get :data:`PASSED`, or :data:`LIMITED` and their id when :func:`limited`.
    """
    survivor = case(
        (limited(channel, at), _text(LIMITED) + cast(Customer.id, String)), else_=_text(PASSED)
    )
    *claimed, (_, fallback) = parts
    if not claimed:
        return reason_code(fallback, survivor)
    whens = [(Customer.jurisdiction.in_(codes), reason_code(p, survivor)) for codes, p in claimed]
    return case(*whens, else_=reason_code(fallback, survivor))


def limited(channel: str, at: datetime) -> ColumnElement[bool]:
    """Whether the customer set any limit or had a counted send on ``channel`` recently."""
    recent = sql_select(SendLog.customer_id).where(
        SendLog.channel == channel,
        SendLog.transactional.is_(False),
        SendLog.sent_at > at - SEND_WINDOW,
        SendLog.sent_at <= at,
    )
    limits = sql_select(ContactPreferences.customer_id).where(
        or_(
            ContactPreferences.windows_json.not_in(NO_WINDOWS),
            ContactPreferences.weekly_cap.is_not(None),
            ContactPreferences.paused_until.is_not(None),
        )
    )
    return or_(Customer.id.in_(limits), Customer.id.in_(recent))
