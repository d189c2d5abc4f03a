"""How the audience statement reads the tables beside each customer's own row.

Every lookup the reason ``CASE`` (:mod:`app.policy.setwise_sql`) needs goes through one
:class:`Lookups`, which picks the form each database runs fastest and adds the outer joins the
lookups need to the candidate query (:meth:`Lookups.join`):

* suppressions: one outer join per channel on the primary key (at most one row each). SQLite
  runs it with a Bloom filter (most customers have none); PostgreSQL with a hash join, which,
  unlike a hashed sub-plan, a parallel plan builds once for all its workers;
* the customer's own limits: one outer join on the primary key (columns of the class key);
* recent counted sends: on SQLite a count by the ``(customer, channel, sent_at)`` index, made
  only for survivors (it sits in the last branch of the ``CASE``); on PostgreSQL one joined
  table of counts per customer;
* shared fields: on SQLite a primary-key lookup for each customer that reaches the rule; on
  PostgreSQL one joined table with a flag per field (:class:`SharedTable`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import (
    ColumnElement,
    FromClause,
    Integer,
    Select,
    and_,
    case,
    false,
    func,
    literal,
    literal_column,
    or_,
    type_coerce,
    union_all,
)
from sqlalchemy import select as sql_select
from sqlalchemy.orm import aliased

from app.delivery.models import SendLog, Suppression
from app.policy.facts_db import SEND_WINDOW
from app.vault.models import ContactPreferences, Customer, SharingChoice


def correlated_shared(purpose: str, field: str, fields: Sequence[str]) -> ColumnElement[bool]:
    """A lookup by primary key (customer, field, purpose) for each customer that gets there.

    For SQLite: cheaper than building a list of every sharing customer, which it can only
    search as a B-tree, and only the customers that pass every earlier rule pay for it. The
    lookup reads the primary-key index alone: the row found shares the field unless its row id
    is among those of the few choices of ``fields`` for ``purpose`` that are not shared (one
    list, read from the ``(purpose, field, shared)`` index), which costs less than reading the
    row itself for its ``shared`` flag.
    """
    unshared = aliased(SharingChoice, name="unshared_choices")
    stored = type_coerce(unshared.shared, Integer)
    # ``shared IS NOT 1`` as two ranges of the (purpose, field, shared) index (the column is
    # NOT NULL).
    not_shared = union_all(
        *(
            sql_select(literal_column("unshared_choices.rowid"))
            .select_from(unshared)
            .where(unshared.purpose == purpose, unshared.field.in_(sorted(fields)), outside)
            for outside in (stored < 1, stored > 1)
        )
    )
    return (
        sql_select(literal(1))
        .where(
            SharingChoice.customer_id == Customer.id,
            SharingChoice.field == field,
            SharingChoice.purpose == purpose,
            literal_column("sharing_choices.rowid").not_in(not_shared),
        )
        .exists()
    )


class Lookups:
    """The lookups of one audience statement and the outer joins they need."""

    def __init__(
        self, dialect: str, purpose: str, channel: str, at: datetime, fields: Sequence[str]
    ) -> None:
        self.dialect, self.channel, self.at = dialect, channel, at
        self._fields = fields
        #: The customer's own limits (null columns when they never saved any).
        self.preferences = aliased(ContactPreferences, name="audience_preferences")
        self._joins: list[tuple[FromClause, ColumnElement[bool]]] = [
            (self.preferences, self.preferences.customer_id == Customer.id)
        ]
        self._suppressions: dict[str, ColumnElement[bool]] = {}
        self._shared: dict[tuple[str, str], ColumnElement[bool]] = {}

    def shared(self, purpose: str, field: str) -> ColumnElement[bool]:
        """Whether the customer shares ``field`` for ``purpose``."""
        if self.dialect == "sqlite":
            return correlated_shared(purpose, field, self._fields)
        key = (purpose, field)
        if key not in self._shared:
            row = aliased(SharingChoice, name=f"audience_shared_{len(self._shared)}")
            on = and_(
                row.customer_id == Customer.id,
                row.field == field,
                row.purpose == purpose,
                row.shared.is_(True),
            )
            self._joins.append((row, on))
            self._shared[key] = row.customer_id.is_not(None)
        return self._shared[key]

    def suppressed(self, channels: Sequence[str]) -> ColumnElement[bool]:
        """Whether the customer is suppressed on any of ``channels``."""
        found = []
        for channel in sorted(channels):
            if channel not in self._suppressions:
                row = aliased(Suppression, name=f"audience_suppressed_{len(self._suppressions)}")
                on = (row.customer_id == Customer.id) & (row.channel == channel)
                self._joins.append((row, on))
                self._suppressions[channel] = row.customer_id.is_not(None)
            found.append(self._suppressions[channel])
        return or_(*found)

    def sends_reach(self, threshold: int | None) -> ColumnElement[bool]:
        """Whether the customer's counted sends on the channel in the week before ``at`` reach
        :func:`send_limit` of their own cap and ``threshold``."""
        counted = (
            SendLog.channel == self.channel,
            SendLog.transactional.is_(False),
            SendLog.sent_at > self.at - SEND_WINDOW,
            SendLog.sent_at <= self.at,
        )
        cap = self.preferences.weekly_cap
        # Customers reaching the threshold come from one list (read in index order by SQLite,
        # hashed once by PostgreSQL); only those whose own cap is lower are counted one by one.
        own = (
            sql_select(func.count())
            .where(SendLog.customer_id == Customer.id, *counted)
            .scalar_subquery()
        )
        if threshold is None:
            return case((cap >= 1, own >= cap), else_=false())
        many = (
            sql_select(SendLog.customer_id)
            .where(*counted)
            .group_by(SendLog.customer_id)
            .having(func.count() >= threshold)
        )
        lower = and_(cap >= 1, cap < threshold)
        return case((lower, own >= cap), else_=Customer.id.in_(many))

    def join(self, query: Select) -> Select:
        """``query`` with every table the lookups read outer-joined to its customers."""
        for target, on in self._joins:
            query = query.outerjoin(target, on)
        return query


def send_limit(weekly_cap: ColumnElement[int], threshold: int | None) -> ColumnElement[int]:
    """A count of recent sends below which they cannot change a survivor's decision.

    The engine reads send times only when their count reaches the weekly limit: the smaller
    of the policy's maximum (at least ``threshold``, the smallest positive one of any policy;
    ``None`` when none sets one) and, where customer limits apply, the customer's own cap
    (a cap below 1 denies whatever the sends). So the limit is never below this value; null
    (no limit at all) compares false. :meth:`Representatives.limited` checks each exactly.
    """
    if threshold is None:
        return case((weekly_cap >= 1, weekly_cap))
    own = and_(weekly_cap >= 1, weekly_cap < threshold)
    return case((own, weekly_cap), else_=literal(threshold))
