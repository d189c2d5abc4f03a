"""The audience statement: every candidate with their reason code, in the form each use reads.

:class:`AudienceQuery` builds the candidates (customers not erased, narrowed by a filter) with
the reason ``CASE`` of :mod:`app.policy.setwise_sql` and the lookups it needs
(:class:`~app.policy.lookups.Lookups`), and reads them as

* :meth:`~AudienceQuery.rows`: one row per candidate, for streaming every decision;
* :meth:`~AudienceQuery.classes`: ``(class, count)``, for counting. Each candidate gets one
  text key: jurisdiction and reason code, and for survivors only their time zone and own
  limits (a denial depends on neither: every deny rule comes before the time zone is read),
  so denials fall into few classes. PostgreSQL groups by the key in SQL (hashing one text
  costs less than hashing six columns). SQLite can only group by sorting every row, which
  costs more than reading the rows once and counting them in Python, and reading a row costs
  about as much per column as the row itself: the driver's rows of one key are counted as they
  come (no result objects). The few distinct keys are then split, each value converted as its
  column would be.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime

from sqlalchemy import ColumnElement, Connection, Select, String, cast, func, literal, select
from sqlalchemy.orm import Session

from app.ledger.models import ConsentState
from app.models_base import dialect_name, driver_value_reader
from app.policy.lookups import Lookups
from app.policy.prefilter import prefilter_for
from app.policy.representatives import Representatives
from app.policy.setwise_sql import LIMITED, PASSED, branches, consent_on, reason_column
from app.vault.models import Customer

CandidateFilter = Callable[[Select], Select]
#: A survivor's own limits as stored: (windows_json, weekly_cap, paused_until).
Limits = tuple[str | None, int | None, datetime | None]
#: (jurisdiction, time zone, reason code, own limits): candidates of one class share a decision.
Class = tuple[str, str, str, Limits]
#: Label of the reason-code column (grouped by name, so it is computed once per row).
REASON = "audience_reason_code"
#: Separates the parts of a SQLite class key (a control character no part contains, except
#: the contact windows, which come last).
SEPARATOR = "\x1f"
#: The time zone and limits given to denial classes read from SQLite keys (deny rules never
#: read them).
ANY_ZONE = ""
NO_LIMITS: Limits = (None, None, None)
#: A pause's text form in PostgreSQL class keys (UTC, whatever the session's settings).
UTC_TEXT = "YYYY-MM-DD HH24:MI:SS.US"
#: PostgreSQL planner settings for the grouped count (see :func:`_hashed_groups`).
GROUPING_PLAN = {"enable_sort": "off", "parallel_setup_cost": "0", "parallel_tuple_cost": "0"}


def _text(value: str) -> ColumnElement[str]:
    return literal(value, String)


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
        self._parts = branches(policy_set, lambda code: prefilter_for(policy_set, code, intent))
        fields = sorted({f for _, p in self._parts for f in p.required_shared_fields})
        self.lookups = Lookups(self.dialect, intent.purpose, intent.channel, intent.at, fields)
        self._threshold = deciders.send_threshold([p.jurisdiction for _, p in self._parts])
        self._consent = consent_on(intent.purpose, intent.channel)
        self._filter = candidate_filter
        own = self.lookups.preferences
        self._limits = (own.windows_json, own.weekly_cap, own.paused_until)

    def _reason(self, survivor=None) -> ColumnElement[str]:
        return reason_column(self._parts, self.lookups, self._threshold, survivor)

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
        """Customer id, jurisdiction, time zone, reason code and own limits per candidate."""
        reason = self._reason().label(REASON)
        return self._select(
            Customer.id, Customer.jurisdiction, Customer.timezone, reason, *self._limits
        )

    def classes(self, session: Session) -> Iterator[tuple[Class, int]]:
        """``(class, count)`` of the candidates (see the module docstring)."""
        connection = session.connection()
        key = self._key().label(REASON)
        if self.dialect == "sqlite":
            result = connection.execute(self._select(key))
            try:
                found = Counter(result.cursor)
            finally:
                result.close()
            counted: Iterable = ((k, n) for (k,), n in found.items())
        else:
            counted = _hashed_groups(connection, self._select(key, func.count()).group_by(key))
        moment = self._moment(connection.dialect)
        for text, n in counted:
            jurisdiction, code, *rest = text.split(SEPARATOR, 2)
            if code != PASSED and not code.startswith(LIMITED):
                yield (jurisdiction, ANY_ZONE, SEPARATOR.join([code, *rest]), NO_LIMITS), n
                continue
            zone, cap, paused, raw = rest[0].split(SEPARATOR, 3)
            limits = (raw or None, int(cap) if cap else None, moment(paused) if paused else None)
            yield (jurisdiction, zone, code, limits), n

    def _moment(self, dialect) -> Callable[[str], datetime]:
        """How a pause in its key text form becomes the aware datetime the column returns."""
        if self.dialect == "sqlite":  # the stored text, converted by the column's own type
            return driver_value_reader(self._limits[2].type, dialect)
        return lambda text: datetime.fromisoformat(text).replace(tzinfo=UTC)

    def _paused_text(self) -> ColumnElement[str]:
        paused = self._limits[2]
        if self.dialect == "sqlite":
            return cast(paused, String)
        return func.to_char(func.timezone("UTC", paused), _text(UTC_TEXT))

    def _key(self) -> ColumnElement[str]:
        """The class key of each candidate (see the module docstring)."""
        raw, cap, _ = self._limits
        sep = _text(SEPARATOR)

        def survivor(code: ColumnElement[str]) -> ColumnElement[str]:
            own = (
                func.coalesce(cast(cap, String), _text("")) + sep
                + func.coalesce(self._paused_text(), _text("")) + sep
                + func.coalesce(raw, _text(""))
            )  # fmt: skip
            return code + sep + Customer.timezone + sep + own

        return Customer.jurisdiction + sep + self._reason(survivor)


def _hashed_groups(connection: Connection, grouped: Select) -> list:
    """The rows of ``grouped``, grouped by hashing, in a parallel plan (PostgreSQL).

    The planner cannot know how few classes there are (it assumes one per candidate), so it
    would sort a million keys instead of hashing them into a few thousand groups, and it
    prices the rows the workers hand over so high that it keeps the whole statement on one
    core (every lookup is a join, so a parallel plan shares each hash table among the
    workers). For this one statement, sorting is off and handing rows over is free; the
    previous settings are restored after it (should it fail, the transaction is aborted and
    its rollback restores them).
    """
    names = ", ".join(f"current_setting('{name}')" for name in GROUPING_PLAN)
    before = connection.exec_driver_sql(f"SELECT {names}").one()
    _set_local(connection, GROUPING_PLAN)
    rows = connection.execute(grouped).all()
    _set_local(connection, dict(zip(GROUPING_PLAN, before, strict=True)))
    return rows


def _set_local(connection: Connection, settings: dict[str, str]) -> None:
    for name, value in settings.items():
        connection.exec_driver_sql(
            "SELECT set_config(%(name)s, %(value)s, true)", {"name": name, "value": value}
        )
