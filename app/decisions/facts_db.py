"""Loading the engine's :class:`CustomerFacts` of stored customers, many at a time.

:func:`load_facts` reads customers, consent state, suppressions, sharing choices, contact
preferences and the counted sends of the rolling week before ``at`` in six bulk queries per
chunk of customers, for the send-time re-check and ``explain``. Erased customers are never
loaded (the caller denies them as unknown). Rows are read through the connection, without the
ORM's per-row handling, which costs more than the queries on the delivery hot path.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator, Sequence
from datetime import datetime, time
from functools import lru_cache

from sqlalchemy import Connection, CursorResult, Select, bindparam, select
from sqlalchemy.orm import Session

from app.customers.models import Customer
from app.ledger.models import ConsentState
from app.models_base import among_parameter, among_value, driver_value_reader
from app.outbox.models import SendLog, Suppression
from app.policy.deferrals import WEEK
from app.policy.facts import ConsentFact, ContactWindow, CustomerFacts
from app.vault.models import ContactPreferences, SharingChoice

#: Customers per bulk query (keeps IN lists within every database's parameter limit).
CHUNK = 5000


class FactsError(ValueError):
    """Stored facts cannot be interpreted (a malformed contact window); names no one."""


def chunks(ids: Sequence[int], size: int = CHUNK) -> Iterator[Sequence[int]]:
    """``ids`` in slices of at most ``size``."""
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def _clock(text: str) -> time:
    # 24:00 ends a window at midnight: an end of 00:00 closes on the next day, the same moment.
    return time(0) if text == "24:00" else time.fromisoformat(text)


def contact_windows(raw: str | None) -> tuple[ContactWindow, ...]:
    """The engine's windows from ``ContactPreferences.windows_json``; raises :class:`FactsError`.

    Few distinct settings are shared by many customers: each is parsed once (the windows are
    immutable, so sharing them is safe; malformed settings are not remembered).
    """
    if not raw:
        return ()
    return _parsed_windows(raw)


@lru_cache(maxsize=4096)
def _parsed_windows(raw: str) -> tuple[ContactWindow, ...]:
    try:
        items = json.loads(raw)
        windows = tuple(
            ContactWindow(
                frozenset(int(day) for day in item["days"]),
                _clock(item["start"]),
                _clock(item["end"]),
            )
            for item in items
        )
    except (ValueError, TypeError, KeyError) as exc:
        raise FactsError(f"malformed contact windows ({type(exc).__name__})") from None
    if any(not w.weekdays <= frozenset(range(7)) for w in windows):
        raise FactsError("contact window weekday out of range")
    return windows


@lru_cache(maxsize=4)
def _queries(dialect: str) -> dict[str, Select]:
    """The bulk queries of a chunk, built once per dialect: building and hashing a statement
    costs SQLAlchemy more than running a small query (a single API decision runs all six).
    The customers are the parameter ``ids`` (:func:`among_value`); the sends are those in
    ``(since, at]``."""

    def among_ids(column):
        return among_parameter(dialect, column, "ids")

    return {
        "consents": select(
            ConsentState.customer_id,
            ConsentState.purpose,
            ConsentState.channel,
            ConsentState.status,
            ConsentState.granted_at,
            ConsentState.expires_at,
            ConsentState.lawful_basis,
            ConsentState.confirmed,
        ).where(among_ids(ConsentState.customer_id)),
        "suppressions": select(Suppression.customer_id, Suppression.channel).where(
            among_ids(Suppression.customer_id)
        ),
        "shares": select(
            SharingChoice.customer_id, SharingChoice.purpose, SharingChoice.field
        ).where(among_ids(SharingChoice.customer_id), SharingChoice.shared.is_(True)),
        "preferences": select(
            ContactPreferences.customer_id,
            ContactPreferences.windows_json,
            ContactPreferences.weekly_cap,
            ContactPreferences.paused_until,
        ).where(among_ids(ContactPreferences.customer_id)),
        "sends": select(SendLog.customer_id, SendLog.channel, SendLog.sent_at).where(
            among_ids(SendLog.customer_id),
            SendLog.transactional.is_(False),
            SendLog.sent_at > bindparam("since"),
            SendLog.sent_at <= bindparam("at"),
        ),
        "customers": select(
            Customer.id,
            Customer.jurisdiction,
            Customer.timezone,
            Customer.age_attested,
            Customer.email_verified,
            Customer.phone_verified,
            Customer.objected_at,
            Customer.customer_since,
        ).where(among_ids(Customer.id), Customer.erased_at.is_(None)),
    }


def _rows(connection: Connection, name: str, ids: Sequence[int], **values) -> CursorResult:
    """The rows of the query ``name`` for the customers ``ids``."""
    dialect = connection.dialect.name
    return connection.execute(_queries(dialect)[name], {"ids": among_value(dialect, ids), **values})


def load_recent_sends(
    session: Session, customer_ids: Sequence[int], at: datetime, channel: str | None = None
) -> dict[int, dict[str, list[datetime]]]:
    """Non-transactional sends in ``(at - 7 days, at]``, per customer and channel."""
    found: dict[int, dict[str, list[datetime]]] = defaultdict(lambda: defaultdict(list))
    connection = session.connection()
    read_time = driver_value_reader(SendLog.sent_at.type, connection.dialect)
    result = _rows(connection, "sends", customer_ids, since=at - WEEK, at=at)
    try:  # the driver's rows: audiences read this for tens of thousands of customers
        rows = result.cursor.fetchall()
    finally:
        result.close()
    for customer_id, name, sent_at in rows:
        if channel is None or name == channel:
            found[customer_id][name].append(read_time(sent_at))
    return found


def _consents(connection: Connection, ids: Sequence[int]) -> dict[int, dict]:
    found: dict[int, dict] = defaultdict(dict)
    for cid, purpose, channel, status, granted, expires, basis, confirmed in _rows(
        connection, "consents", ids
    ):
        found[cid][(purpose, channel)] = ConsentFact(status, granted, expires, basis, confirmed)
    return found


def _suppressions(connection: Connection, ids: Sequence[int]) -> dict[int, set[str]]:
    found: dict[int, set[str]] = defaultdict(set)
    for cid, channel in _rows(connection, "suppressions", ids):
        found[cid].add(channel)
    return found


def _shares(connection: Connection, ids: Sequence[int]) -> dict[int, dict[str, set[str]]]:
    found: dict[int, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for cid, purpose, field in _rows(connection, "shares", ids):
        found[cid][purpose].add(field)
    return found


def _preferences(connection: Connection, ids: Sequence[int]) -> dict[int, tuple]:
    return {row[0]: tuple(row[1:]) for row in _rows(connection, "preferences", ids)}


def _load_chunk(
    session: Session, ids: Sequence[int], at: datetime, broken: set[int] | None
) -> Iterator[CustomerFacts]:
    connection = session.connection()
    consents, suppressions = _consents(connection, ids), _suppressions(connection, ids)
    shares, preferences = _shares(connection, ids), _preferences(connection, ids)
    sends = load_recent_sends(session, ids, at)
    for cid, jurisdiction, zone, age, email_ok, phone_ok, objected, since in _rows(
        connection, "customers", ids
    ):
        raw_windows, cap, paused = preferences.get(cid, (None, None, None))
        try:
            windows = contact_windows(raw_windows)
        except FactsError:
            if broken is None:
                raise
            broken.add(cid)
            continue
        verified = {"email"} if email_ok else set()
        if phone_ok:
            verified.add("sms")
        yield CustomerFacts(
            customer_id=cid,
            jurisdiction=jurisdiction,
            timezone=zone,
            age_attested=age,
            consents=consents.get(cid, {}),
            objected=objected is not None,
            suppressions=frozenset(suppressions.get(cid, ())),
            verified_channels=frozenset(verified),
            shared_fields={p: frozenset(f) for p, f in shares.get(cid, {}).items()},
            contact_windows=windows,
            weekly_cap=cap,
            paused_until=paused,
            recent_sends={c: tuple(sorted(s)) for c, s in sends.get(cid, {}).items()},
            existing_customer=since is not None,
        )


def load_facts(
    session: Session,
    customer_ids: Sequence[int],
    *,
    at: datetime,
    broken: set[int] | None = None,
) -> dict[int, CustomerFacts]:
    """The facts of every known, not erased customer among ``customer_ids``, as of ``at``.

    Unknown and erased customers are absent from the result. A customer whose stored facts
    cannot be interpreted raises :class:`FactsError`, or, when ``broken`` is given, is added to
    it and left out (so one bad row does not stop a batch; the caller denies it).
    """
    if at.tzinfo is None:
        raise ValueError("at must be timezone-aware")
    ids = sorted(set(customer_ids))
    facts: dict[int, CustomerFacts] = {}
    for part in chunks(ids):
        facts.update((f.customer_id, f) for f in _load_chunk(session, part, at, broken))
    return facts
