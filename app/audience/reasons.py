"""The engine's prefilter in SQL: the reason code of the first coarse rule a candidate fails.

:func:`reason_column` is one ``CASE`` per policy, in the engine's rule order, chosen by the
customer's jurisdiction. A code is the rule id, or the rule id and a detail that changes the
engine's message (``lawful_basis:withdrawn``, ``suppression:*``,
``data_minimisation:first_name,``); a missing consent row is status ``none``. Candidates no
coarse rule denies (survivors) get the code their caller builds.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    String,
    and_,
    case,
    false,
    func,
    literal,
    not_,
    null,
    or_,
    true,
)

from app.audience.lookups import Lookups
from app.audience.prefilter import Prefilter
from app.customers.models import Customer
from app.ledger.models import ConsentState
from app.policy.policyset import PolicySet

#: Separates a branch's mark, the denial code and, for a branch denying everyone, the
#: customer's jurisdiction (a control character no code contains).
DETAIL = "\x1f"
#: Jurisdiction that no policy claims (for the prefilter of unclaimed jurisdictions).
UNCLAIMED = "?"
#: The customer column telling whether a channel's address is verified.
VERIFIED_COLUMNS = {"email": Customer.email_verified, "sms": Customer.phone_verified}

Branch = tuple[tuple[str, ...], Prefilter]
When = tuple[ColumnElement[bool], ColumnElement]


def _text(value: str) -> ColumnElement[str]:
    return literal(value, String)


def consent_on(purpose: str, channel: str) -> ColumnElement[bool]:
    """How ``consent_state`` joins a customer for one purpose and channel (LEFT OUTER)."""
    return and_(
        ConsentState.customer_id == Customer.id,
        ConsentState.purpose == purpose,
        ConsentState.channel == channel,
    )


def _unshared_codes(prefilter: Prefilter, lookups: Lookups) -> list[When]:
    fields = sorted(prefilter.required_shared_fields)
    if not fields:
        return []
    purpose = prefilter.purpose
    shared = {name: lookups.shared(purpose, name) for name in fields}
    detail: ColumnElement = _text("data_minimisation:")
    for name in fields:
        detail = detail + case((shared[name], _text("")), else_=_text(f"{name},"))
    return [(or_(*(not_(found) for found in shared.values())), detail)]


def _status_in(statuses: frozenset[str]) -> ColumnElement[bool]:
    """Whether the consent status is one of ``statuses``, where a missing row has the status
    ``none``; never null, so that its negation denies a customer without a row too."""
    status = ConsentState.status
    if "none" in statuses:
        return or_(status.is_(None), status.in_(sorted(statuses)))
    return and_(status.is_not(None), status.in_(sorted(statuses))) if statuses else false()


def _consent_codes(prefilter: Prefilter, lookups: Lookups) -> list[When]:
    # A missing row compares false with any status, as the status ``none`` would.
    status = ConsentState.status
    basis = or_(
        _status_in(prefilter.required_consent_statuses),
        and_(
            Customer.customer_since.is_not(None),
            _status_in(prefilter.soft_opt_in_statuses),
        ),
    )
    named = func.coalesce(status, _text("none"))
    whens: list[When] = [(not_(basis), _text("lawful_basis:") + named)]
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


def _objection(prefilter: Prefilter, lookups: Lookups) -> list[When]:
    if not prefilter.exclude_objected:
        return []
    return [(Customer.objected_at.is_not(None), _text("objection"))]


def _suppression_all(prefilter: Prefilter, lookups: Lookups) -> list[When]:
    if "*" not in prefilter.excluded_suppressions:
        return []
    return [(lookups.suppressed(["*"]), _text("suppression:*"))]


def _suppression(prefilter: Prefilter, lookups: Lookups) -> list[When]:
    others = sorted(prefilter.excluded_suppressions - {"*"})
    return [(lookups.suppressed(others), _text("suppression"))] if others else []


def _minimum_age(prefilter: Prefilter, lookups: Lookups) -> list[When]:
    if prefilter.minimum_age is None:
        return []
    too_young = or_(Customer.age_attested.is_(None), Customer.age_attested < prefilter.minimum_age)
    return [(too_young, _text("minimum_age"))]


def _channel_address(prefilter: Prefilter, lookups: Lookups) -> list[When]:
    verified = VERIFIED_COLUMNS.get(prefilter.require_verified_channel)
    return [(not_(verified) if verified is not None else true(), _text("channel_address"))]


def _data_minimisation(prefilter: Prefilter, lookups: Lookups) -> list[When]:
    if prefilter.disallowed_template_fields:
        return [(true(), _text("data_minimisation"))]
    return _unshared_codes(prefilter, lookups)


#: The ``WHEN`` clauses of each prefilter rule, in engine order.
RULES: tuple[Callable[[Prefilter, Lookups], list[When]], ...] = (
    _objection,
    _suppression_all,
    _suppression,
    _minimum_age,
    _consent_codes,
    _channel_address,
    _data_minimisation,
)


def branches(policy_set: PolicySet, prefilter_of) -> list[Branch]:
    """One prefilter per policy: ``(jurisdictions, prefilter)``, the catch-all last (``()``).

    ``prefilter_of(jurisdiction)`` builds the prefilter for a representative jurisdiction.
    """
    default = policy_set.default
    found: list[Branch] = [
        (tuple(p.jurisdictions), prefilter_of(p.jurisdictions[0]))
        for p in policy_set.policies
        if p is not default and p.jurisdictions
    ]
    fallback = default.jurisdictions[0] if default and default.jurisdictions else UNCLAIMED
    found.append(((), prefilter_of(fallback)))
    return found


def _marked(code: ColumnElement[str], mark: str) -> ColumnElement[str]:
    """``code`` behind ``mark``: one literal when the code is one, so that a denial's key costs
    the database no concatenation at all."""
    if isinstance(code, BindParameter) and isinstance(code.value, str):
        return _text(mark + code.value)
    return _text(mark) + code


def _denial(prefilter: Prefilter, lookups: Lookups, mark: str) -> ColumnElement[Any]:
    """The code of the first prefilter rule a customer fails under one policy, behind
    ``mark`` (null: none fails)."""
    if prefilter.deny_all_rule is not None:
        # The denial names the customer's own jurisdiction when no policy governs it.
        return _text(mark + prefilter.deny_all_rule + DETAIL) + Customer.jurisdiction
    whens = [
        (condition, _marked(code, mark))
        for rule in RULES
        for condition, code in rule(prefilter, lookups)
    ]
    return case(*whens) if whens else null()


def reason_column(
    parts: list[Branch],
    lookups: Lookups,
    threshold: int | None,
    survivor: Callable[[ColumnElement[bool]], ColumnElement[str]],
    marks: Sequence[str],
) -> ColumnElement[str]:
    """The reason code of each customer under the policy governing their jurisdiction.

    The customer's jurisdiction picks their policy's branch (the catch-all last), whose
    ``CASE`` names the first prefilter rule they fail, behind the branch's mark
    (``marks[i]``); a branch denying everyone adds :data:`DETAIL` and the customer's
    jurisdiction. Every lookup is a column of the customer's own row or of the rows joined
    to it, so repeating one in several branches costs nothing. Survivors get the code
    ``survivor`` builds from whether their recent sends may reach their weekly limit
    (:meth:`~app.audience.lookups.Lookups.sends_reach` of ``threshold``); it is computed for
    survivors only.
    """
    *claimed, (_, fallback) = parts
    denial = _denial(fallback, lookups, marks[-1])
    if claimed:
        branch = [
            (Customer.jurisdiction.in_(codes), _denial(p, lookups, mark))
            for (codes, p), mark in zip(claimed, marks, strict=False)
        ]
        denial = case(*branch, else_=denial)
    return func.coalesce(denial, survivor(lookups.sends_reach(threshold)))
