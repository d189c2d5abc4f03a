"""The engine's :class:`~app.policy.prefilter.Prefilter` translated into SQL.

:func:`reason_column` gives, for every candidate customer, a *reason code*: a ``CASE`` over
every prefilter field in the engine's rule order, so that the first failing rule is found by
the database. A code is the rule id, or the rule id and a detail that changes the engine's
message (``lawful_basis:withdrawn``, ``suppression:*``, ``data_minimisation:first_name,``);
:data:`PASSED` means every prefilter rule passed. A missing consent row is status ``none``.

The Python rules (pause, cap, quiet hours, windows) read only the customer's time zone,
preferences and recent sends. Survivors (every prefilter rule passed) get :data:`PASSED` unless
their count of recent sends may reach their weekly limit
(:func:`~app.policy.lookups.send_limit`): then
:data:`LIMITED` and their id, so only they are decided on their own send times. The others are
classed by (jurisdiction, time zone, their own limits), which the audience query selects
beside the code (:class:`~app.policy.lookups.Lookups`), and each class is decided once.
Every table beside the customer's row is read through a :class:`~app.policy.lookups.Lookups`.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import ColumnElement, String, and_, case, cast, func, literal, not_, or_, true

from app.ledger.models import ConsentState
from app.policy.facts_db import VERIFIED_COLUMNS
from app.policy.lookups import Lookups
from app.policy.policyset import PolicySet
from app.policy.prefilter import Prefilter
from app.vault.models import Customer

#: Reason code of a customer who passed every prefilter rule and whose recent sends cannot
#: reach their weekly limit (decided by class: jurisdiction, time zone and their own limits).
PASSED = "~passed"
#: Reason code prefix of a survivor whose recent send times must be read (followed by the
#: customer's id, so that each is a class of one).
LIMITED = "~limited:"
#: Jurisdiction that no policy claims (for the prefilter of unclaimed jurisdictions).
UNCLAIMED = "?"

Branch = tuple[tuple[str, ...] | None, Prefilter]
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


def _status() -> ColumnElement[str]:
    return func.coalesce(ConsentState.status, _text("none"))


def _consent_codes(prefilter: Prefilter, lookups: Lookups) -> list[When]:
    status = _status()
    basis = or_(
        status.in_(sorted(prefilter.required_consent_statuses)),
        and_(
            Customer.customer_since.is_not(None),
            status.in_(sorted(prefilter.soft_opt_in_statuses)),
        ),
    )
    whens: list[When] = [(not_(basis), _text("lawful_basis:") + status)]
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


#: The prefilter rules in engine order: (what makes two prefilters agree on the rule, the
#: ``WHEN`` clauses it adds, given the statement's lookups).
#: Prefilters whose keys are equal produce the same clauses.
RULES: tuple[
    tuple[Callable[[Prefilter], object], Callable[[Prefilter, Lookups], list[When]]], ...
] = (
    (lambda p: p.exclude_objected, _objection),
    (lambda p: "*" in p.excluded_suppressions, _suppression_all),
    (lambda p: p.excluded_suppressions - {"*"}, _suppression),
    (lambda p: p.minimum_age, _minimum_age),
    (
        lambda p: (
            p.required_consent_statuses,
            p.soft_opt_in_statuses,
            p.check_consent_expiry,
            p.consent_granted_after,
            p.check_double_opt_in,
            p.require_confirmed,
        ),
        _consent_codes,
    ),
    (lambda p: p.require_verified_channel, _channel_address),
    (lambda p: (p.disallowed_template_fields, p.required_shared_fields), _data_minimisation),
)


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


def _in_branches(parts: list[Branch], chosen: list[int]) -> ColumnElement[bool]:
    """Whether the customer's jurisdiction belongs to one of the ``chosen`` branches."""
    if len(chosen) == len(parts):
        return true()
    if chosen[-1] == len(parts) - 1:  # the catch-all: every jurisdiction the others do not claim
        others = [c for i, (codes, _) in enumerate(parts[:-1]) if i not in chosen for c in codes]
        return Customer.jurisdiction.not_in(others)
    return Customer.jurisdiction.in_([c for i in chosen for c in parts[i][0]])


def reason_column(
    parts: list[Branch],
    lookups: Lookups,
    threshold: int | None,
    survivor: Callable[[ColumnElement[str]], ColumnElement[str]] | None = None,
) -> ColumnElement[str]:
    """The reason code of each customer under the policy governing their jurisdiction.

    One ``CASE`` for every policy: each prefilter rule, in engine order, contributes its
    clauses once for all the policies that apply it alike (guarded by the jurisdictions of
    those policies only where they differ), so every lookup (suppressions, shared fields,
    limits) appears once in the statement however many policies there are. Branches are
    mutually exclusive by jurisdiction, so within one rule their order does not matter.
    Survivors get :data:`LIMITED` and their id when their recent sends reach
    :func:`~app.policy.lookups.send_limit` (``threshold``: the smallest weekly maximum a policy
    sets), else
    :data:`PASSED`; ``survivor``, when given, extends a survivor's code (with the columns
    their class needs, computed for survivors only).
    """
    whens: list[When] = []
    live = [i for i, (_, p) in enumerate(parts) if p.deny_all_rule is None]
    denied: dict[str, list[int]] = {}
    for i, (_, p) in enumerate(parts):
        if p.deny_all_rule is not None:
            denied.setdefault(p.deny_all_rule, []).append(i)
    for rule_id, chosen in denied.items():
        whens.append((_in_branches(parts, chosen), _text(rule_id)))
    for key_of, clauses in RULES:
        groups: dict[object, list[int]] = {}
        for i in live:
            groups.setdefault(key_of(parts[i][1]), []).append(i)
        for chosen in groups.values():
            # Customers of deny-all branches never get this far: no guard needed for them.
            guard = _in_branches(parts, chosen) if len(chosen) < len(live) else None
            for condition, code in clauses(parts[chosen[0]][1], lookups):
                whens.append((condition if guard is None else and_(guard, condition), code))
    timed = lookups.sends_reach(threshold)
    code = case((timed, _text(LIMITED) + cast(Customer.id, String)), else_=_text(PASSED))
    if survivor is not None:
        code = survivor(code)
    return case(*whens, else_=code) if whens else code
