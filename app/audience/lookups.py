"""What the audience statement reads beside each customer's own row (:class:`Lookups`).

Suppressions and shared fields are searched in the summaries the database keeps on the
customer's row (:mod:`app.vault.summaries`); the customer's own limits are one outer join on
the primary key; counted recent sends are read by the send log's index, for survivors only.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import (
    ColumnElement,
    FromClause,
    Select,
    and_,
    case,
    false,
    func,
    literal,
    or_,
)
from sqlalchemy import select as sql_select
from sqlalchemy.orm import aliased

from app.customers.models import Customer
from app.outbox.models import SendLog
from app.policy.deferrals import WEEK
from app.vault.models import ContactPreferences
from app.vault.summaries import holds, shared_token


class Lookups:
    """The lookups of one audience statement and the outer joins they need."""

    def __init__(self, dialect: str, channel: str, at: datetime) -> None:
        self.dialect, self.channel, self.at = dialect, channel, at
        #: The customer's own limits (null columns when they never saved any).
        self.preferences = aliased(ContactPreferences, name="audience_preferences")
        self._joins: list[tuple[FromClause | type[ContactPreferences], ColumnElement[bool]]] = [
            (self.preferences, self.preferences.customer_id == Customer.id)
        ]

    def shared(self, purpose: str, field: str) -> ColumnElement[bool]:
        """Whether the customer shares ``field`` for ``purpose``."""
        return holds(Customer.shared_for, shared_token(purpose, field), self.dialect)

    def suppressed(self, channels: Sequence[str]) -> ColumnElement[bool]:
        """Whether the customer is suppressed on any of ``channels``."""
        return or_(*(holds(Customer.suppressed_on, c, self.dialect) for c in sorted(channels)))

    def _counted(self) -> tuple[ColumnElement[bool], ...]:
        """The sends the frequency cap counts: on the channel, not transactional, in the
        rolling week up to ``at``."""
        return (
            SendLog.channel == self.channel,
            SendLog.transactional.is_(False),
            SendLog.sent_at > self.at - WEEK,
            SendLog.sent_at <= self.at,
        )

    def send_times(self, as_text) -> ColumnElement[str]:
        """The customer's counted send times, each as ``as_text`` renders a timestamp,
        comma-separated (null when none); read by the index on (customer, channel, sent_at)."""
        times = as_text(SendLog.sent_at)
        listed = (
            func.string_agg(times, literal(","))
            if self.dialect == "postgresql"
            else func.group_concat(times, literal(","))
        )
        return (
            sql_select(listed)
            .where(SendLog.customer_id == Customer.id, *self._counted())
            .scalar_subquery()
        )

    def sends_reach(self, threshold: int | None) -> ColumnElement[bool]:
        """Whether the customer's counted sends in the week before ``at`` may reach their weekly
        limit: their own cap when below ``threshold`` (the smallest positive weekly maximum of
        any policy; ``None`` when none sets one), else ``threshold``. Below it, their sends
        cannot change the decision (see :meth:`Representatives.limited`)."""
        counted = self._counted()
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
