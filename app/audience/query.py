"""The audience statement: every candidate with the text key of their class.

A key is, for a candidate a coarse rule denies, their policy branch's mark and the reason code
(:mod:`app.audience.reasons`); for a survivor, their jurisdiction, time zone and the own limits
that can still change the decision (and their counted send times when those may reach their
weekly limit). Candidates with equal keys get the same decision; :meth:`AudienceQuery.parse`
gives the class of a key back. The statement is read as ``(id, key)`` rows to stream every
decision, or as ``(key, count)`` to count them. Layout of a key: ``docs/AUDIENCE.md``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import cast as cast_type

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    SQLColumnExpression,
    String,
    case,
    cast,
    func,
    literal,
    select,
)
from sqlalchemy.orm import Session

from app.audience.lookups import Lookups
from app.audience.prefilter import prefilter_for
from app.audience.reasons import (
    DETAIL,
    branches,
    consent_on,
    reason_column,
)
from app.audience.representatives import Representatives
from app.customers.models import Customer
from app.ledger.models import ConsentState
from app.models_base import dialect_name, driver_value_reader

CandidateFilter = Callable[[Select], Select]
#: A survivor's own limits as stored: (windows_json, weekly_cap, paused_until).
Limits = tuple[str | None, int | None, datetime | None]
#: (jurisdiction, time zone, reason code, own limits, counted send times as text): candidates
#: of one class share a decision.
Class = tuple[str, str, str, Limits, str]
#: Label of the key column.
KEY = "audience_class_key"
#: Separates the parts of a key (a control character no part contains, except the contact
#: windows, which come last).
SEPARATOR = DETAIL
#: Starts the mark of a policy's branch in a denial's key.
BRANCH = "#"
#: Starts every survivor's reason code (and no denial's).
SURVIVED = "~"
#: Reason code of a survivor whose recent sends cannot reach their weekly limit.
PASSED = "~passed"
#: Reason code of a survivor whose recent send times may reach their weekly limit: their key
#: carries those times.
TIMED = "~timed"
#: The time zone and limits given to denial classes (deny rules never read them).
ANY_ZONE = ""
NO_LIMITS: Limits = (None, None, None)
#: A pause's text form in PostgreSQL keys (UTC, whatever the session's settings).
UTC_TEXT = "YYYY-MM-DD HH24:MI:SS.US"
#: PostgreSQL planner settings for the grouped count (see :func:`_hashed_groups`).
GROUPING_PLAN = {"enable_sort": "off", "parallel_setup_cost": "0", "parallel_tuple_cost": "0"}


def _text(value: str) -> ColumnElement[str]:
    return literal(value, String)


def _or_empty(value: ColumnElement) -> ColumnElement[str]:
    return func.coalesce(value, _text(""))


class AudienceQuery:
    """The candidate statement for one intent (see the module docstring)."""

    def __init__(
        self,
        session: Session,
        deciders: Representatives,
        candidate_filter: CandidateFilter | None,
    ) -> None:
        policy_set, intent = deciders.policy_set, deciders.intent
        self.dialect = dialect_name(session)
        self._at = intent.at
        self._parts = branches(policy_set, lambda code: prefilter_for(policy_set, code, intent))
        self.lookups = Lookups(self.dialect, intent.channel, intent.at)
        self._threshold = deciders.send_threshold([p.jurisdiction for _, p in self._parts])
        self._consent = consent_on(intent.purpose, intent.channel)
        self._filter = candidate_filter
        self._moment = self._time_reader(session)

    def _select(self, *columns) -> Select:
        query = (
            select(*columns)
            .select_from(Customer)
            .outerjoin(ConsentState, self._consent)
            .where(Customer.erased_at.is_(None))
        )
        query = self.lookups.join(query)
        return self._filter(query) if self._filter is not None else query

    def rows(self) -> Select:
        """``(customer id, key)`` of every candidate (see the module docstring)."""
        return self._select(Customer.id, self._key().label(KEY))

    def classes(self, session: Session) -> Iterable[tuple[str, int]]:
        """``(key, count)`` of the candidates: grouped in SQL on PostgreSQL (hashing one text
        costs less than six columns); counted while reading on SQLite, which can only group
        by sorting every row."""
        connection = session.connection()
        key = self._key().label(KEY)
        if self.dialect != "sqlite":
            return _hashed_groups(connection, self._select(key, func.count()).group_by(key))
        result = connection.execute(self._select(key))
        try:
            found = Counter(cast_type(Iterable[tuple[str]], result.cursor))
        finally:
            result.close()
        return [(text, n) for (text,), n in found.items()]

    def parse(self, key: str) -> Class:
        """The class a key stands for: jurisdiction, time zone, reason code, own limits and
        the counted send times as text (only for :data:`TIMED`; see :meth:`send_times`).

        A denial's key starts with its branch's mark (the branch's own representative
        jurisdiction decides it: every jurisdiction of a branch has the same policy), a
        survivor's with their jurisdiction; survivor codes, unlike denial codes, start with ``~``.
        """
        first, code, *rest = key.split(SEPARATOR, 2)
        if not code.startswith(SURVIVED):
            jurisdiction = rest[0] if rest else self._parts[int(first[1:])][1].jurisdiction
            return jurisdiction, ANY_ZONE, code, NO_LIMITS, ""
        zone, cap, paused, sent, raw = rest[0].split(SEPARATOR, 4)
        limits = (raw or None, int(cap) if cap else None, self._moment(paused) if paused else None)
        return first, zone, code, limits, sent

    def send_times(self, sent: str) -> tuple[datetime, ...]:
        """The send times of a key's text (comma-separated timestamps)."""
        moment = self._moment
        return tuple(moment(text) for text in sent.split(",")) if sent else ()

    def _time_reader(self, session: Session) -> Callable[[str], datetime]:
        """How a timestamp in its key text form becomes the aware datetime its column returns."""
        if self.dialect == "sqlite":  # the stored text, converted by the column's own type
            paused = self.lookups.preferences.paused_until
            return driver_value_reader(paused.type, session.get_bind().dialect)
        return lambda text: datetime.fromisoformat(text).replace(tzinfo=UTC)

    def _time_text(self, column: SQLColumnExpression[datetime | None]) -> ColumnElement[str]:
        """A timestamp column as key text: the stored text on SQLite, UTC text on PostgreSQL."""
        if self.dialect == "sqlite":
            return cast(column, String)
        return func.to_char(func.timezone("UTC", column), _text(UTC_TEXT))

    def _key(self) -> ColumnElement[str]:
        """The class key of each candidate (layout: ``docs/AUDIENCE.md``)."""
        own = self.lookups.preferences
        sep = _text(SEPARATOR)
        paused = _or_empty(case((own.paused_until > self._at, self._time_text(own.paused_until))))
        windows = _or_empty(func.nullif(own.windows_json, _text("[]")))
        sends = _or_empty(self.lookups.send_times(self._time_text))
        timed_head = (
            Customer.jurisdiction + _text(SEPARATOR + TIMED + SEPARATOR) + Customer.timezone
        )
        passed_head = (
            Customer.jurisdiction + _text(SEPARATOR + PASSED + SEPARATOR) + Customer.timezone
        )

        cap = _or_empty(cast(own.weekly_cap, String))
        cap_below_one = _or_empty(cast(case((own.weekly_cap < 1, own.weekly_cap)), String))
        # Adjacent literals are written as one: each concatenation costs per candidate.
        timed_key = timed_head + sep + cap + sep + paused + sep + sends + sep + windows
        passed_key = passed_head + sep + cap_below_one + sep + paused + _text(SEPARATOR * 2)
        no_limits_key = passed_head + _text(SEPARATOR * 4)

        def survivor(timed: ColumnElement[bool]) -> ColumnElement[str]:
            return case(
                (timed, timed_key),
                (own.customer_id.is_(None), no_limits_key),
                else_=passed_key + windows,
            )

        marks = [f"{BRANCH}{i}{SEPARATOR}" for i in range(len(self._parts))]
        return reason_column(self._parts, self.lookups, self._threshold, survivor, marks)


def _hashed_groups(connection: Connection, grouped: Select) -> list:
    """The rows of ``grouped``, grouped by hashing, in a parallel plan (PostgreSQL).

    The planner cannot know how few classes there are (it assumes one per candidate), so it
    would sort a million keys instead of hashing them into a few thousand groups, and it
    prices the rows the workers hand over so high that it keeps the whole statement on one
    core. For this one statement, sorting is off and handing rows over is free; the previous
    settings are restored after it (should it fail, the transaction is aborted and its
    rollback restores them).
    """
    names = ", ".join(f"current_setting('{name}')" for name in GROUPING_PLAN)
    before = connection.exec_driver_sql(f"SELECT {names}").one()
    _set_local(connection, GROUPING_PLAN)
    rows = connection.execute(grouped).all()
    _set_local(connection, dict(zip(GROUPING_PLAN, before, strict=True)))
    return [tuple(row) for row in rows]


def _set_local(connection: Connection, settings: dict[str, str]) -> None:
    for name, value in settings.items():
        connection.exec_driver_sql(
            "SELECT set_config(%(name)s, %(value)s, true)", {"name": name, "value": value}
        )
