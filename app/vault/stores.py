"""The main database and its key store belong together: one identity, checked at every start.

The main database gets a random identity when it is created (its migrations write it). The key
store records that identity the first time it is used with the database: it is then *bound* to
it. Every start of the application (web, scheduler, worker, every ``flask`` command) compares
the two and refuses a key store bound to another database, with one message naming both
stores and what to do. Until the database is migrated there is nothing to compare, and nothing
can be written either; the first key written checks again.

An unbound key store that already holds keys (one from before identities) is bound only when
its keys are this database's: each key sampled from it must unwrap under the reference of the
customer it is stored for (the wrap is bound to that reference). An empty one is bound only to
a database without customers, whose keys would otherwise be missing. Any other key store is
refused. Either way a stale key is never used, reused or overwritten.
"""

from __future__ import annotations

import uuid
from typing import NamedTuple

from flask import Flask, current_app
from sqlalchemy import Connection, Engine, func, inspect, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError, OperationalError

from app.customers.models import Customer
from app.extensions import db
from app.runtime import runtime
from app.vault.envelope import WrappedKey, unwrap_data_key
from app.vault.errors import VaultError
from app.vault.keyring import KeyRing
from app.vault.keystore import BIND
from app.vault.models import CustomerKey, DatabaseIdentity, KeystoreBinding
from config import ConfigError

#: ``app.extensions`` key: True once this application compared (or bound) its two stores.
CHECKED = "assenso.stores_checked"
#: Keys of an unbound key store tried from each end of its range before binding it.
SAMPLE = 8
UNCHANGED = "Nothing was changed: stale keys are never used, reused or overwritten."


class StoreMismatch(ConfigError):
    """The key store belongs to another database (or cannot be shown to be this one's)."""


class Binding(NamedTuple):
    """The database a key store is bound to: its identity and (password-free) URL."""

    identity: str
    database_url: str


def safe_url(url: object) -> str:
    """``url`` as text without its password, for messages."""
    return make_url(str(url)).render_as_string(hide_password=True)


def check_stores(app: Flask) -> None:
    """Bind the key store to the main database, or refuse one that belongs to another.

    Raises :class:`StoreMismatch` (a ``ConfigError``: the start stops with its message) and
    ``ConfigError`` when either database cannot be reached.
    """
    with app.app_context():
        main, keys = db.engines[None], db.engines[BIND]
    try:
        app.extensions[CHECKED] = _compare(app, main, keys)
    except ConfigError:
        main.dispose()  # the application will not run: leave no connection open behind it
        keys.dispose()
        raise


def _compare(app: Flask, main: Engine, keys: Engine) -> bool:
    """Compare (or bind) the two stores; False when the database is not migrated yet."""
    identity = _reach(main, "DATABASE_URL", database_identity)
    if identity is None:  # nothing to compare, and no key can be written before it is
        return False
    bound = _reach(keys, "the key store", _binding)
    if bound is None:
        _adopt(app, main, keys, identity)
    elif bound.identity != identity:
        raise StoreMismatch(_mismatch(main, keys, identity, bound))
    return True


def require_checked() -> None:
    """Check the stores now if this application started before its database was migrated.

    Called before a data key is written, so that no key lands in a key store of another
    database even in a process that had nothing to compare when it started.
    """
    app = current_app._get_current_object()  # type: ignore[attr-defined]  # the proxy's own method
    if not app.extensions.get(CHECKED):
        check_stores(app)
    if not app.extensions.get(CHECKED):
        raise ConfigError("the database is not migrated yet: run `flask db upgrade` first")


def database_identity(engine: Engine) -> str | None:
    """The main database's identity; ``None`` before it is migrated. Writes a lost one anew."""
    with engine.connect() as connection:
        if not inspect(connection).has_table(DatabaseIdentity.__tablename__):
            return None
        found = _identity(connection)
    if found is None:
        _insert_once(engine, DatabaseIdentity, identity=str(uuid.uuid4()))
        with engine.connect() as connection:
            found = _identity(connection)
    return found


def _identity(connection: Connection) -> str | None:
    return connection.scalar(select(DatabaseIdentity.identity).where(DatabaseIdentity.id == 1))


def _binding(engine: Engine) -> Binding | None:
    """The database the key store is bound to, or ``None`` when it is unbound."""
    columns = (KeystoreBinding.database_identity, KeystoreBinding.database_url)
    with engine.connect() as connection:
        row = connection.execute(select(*columns).where(KeystoreBinding.id == 1)).first()
    return None if row is None else Binding(*row)


def _insert_once(engine: Engine, model, **values) -> None:
    """Insert the single row (id 1) of ``model``; another process inserting it first is fine."""
    try:
        with engine.begin() as connection:
            connection.execute(model.__table__.insert().values(id=1, **values))
    except IntegrityError:
        return


def _adopt(app: Flask, main: Engine, keys: Engine, identity: str) -> None:
    """Bind an unbound key store once its keys (or, when empty, the database) allow it."""
    sample = _reach(keys, "the key store", _sample_keys)
    if sample:
        problem = _foreign_keys(main, runtime(app).vault_keys, sample)
        if problem:
            raise StoreMismatch(
                f"The key store {safe_url(keys.url)} holds data keys but no database identity, "
                f"and they are not the keys of {safe_url(main.url)} ({problem}). {UNCHANGED} "
                f"Point ASSENSO_KEYSTORE_URL at the key store of {safe_url(main.url)}; to start "
                "that database afresh, move this key store away."
            )
    else:
        customers = _live_customers(main)
        if customers:
            raise StoreMismatch(
                f"The key store {safe_url(keys.url)} is empty, but {safe_url(main.url)} holds "
                f"{customers} customers whose data keys must be in their own key store. "
                f"{UNCHANGED} Point ASSENSO_KEYSTORE_URL at that key store (restore it from its "
                "replica if it was lost)."
            )
    _insert_once(keys, KeystoreBinding, database_identity=identity, database_url=safe_url(main.url))
    bound = _binding(keys)
    if bound is None or bound.identity != identity:  # another database bound it first
        raise StoreMismatch(_mismatch(main, keys, identity, bound or Binding("?", "?")))


def _live_customers(main: Engine) -> int:
    """How many customers of the database are not erased (each needs a data key)."""
    with main.connect() as connection:
        return connection.execute(
            select(func.count()).select_from(Customer).where(Customer.erased_at.is_(None))
        ).scalar_one()


def _sample_keys(engine: Engine) -> list[tuple[int, WrappedKey]]:
    """Up to ``SAMPLE`` keys from each end of the key store's customer ids."""
    columns = (CustomerKey.customer_id, CustomerKey.kek_version, CustomerKey.wrapped_key)
    found: dict[int, WrappedKey] = {}
    with engine.connect() as connection:
        if not connection.scalar(select(func.count()).select_from(CustomerKey)):
            return []
        for order in (CustomerKey.customer_id.asc(), CustomerKey.customer_id.desc()):
            rows = connection.execute(select(*columns).order_by(order).limit(SAMPLE))
            found.update({cid: WrappedKey(version, blob) for cid, version, blob in rows})
    return sorted(found.items())


def _foreign_keys(main: Engine, ring: KeyRing, sample: list[tuple[int, WrappedKey]]) -> str:
    """Why the sampled keys are not this database's customers' keys ('' when they are)."""
    ids = [customer_id for customer_id, _ in sample]
    with main.connect() as connection:
        refs = dict(
            connection.execute(select(Customer.id, Customer.ref).where(Customer.id.in_(ids)))
            .tuples()
            .all()
        )
    if not refs:
        return "none of its keys belongs to a customer of this database"
    for customer_id, wrapped in sample:
        if customer_id not in refs:
            continue  # a key left by an interrupted write: `flask vault check` reports it
        try:
            unwrap_data_key(ring, refs[customer_id], wrapped)
        except VaultError as exc:
            return f"the key stored for customer {customer_id} does not open: {exc}"
    return ""


def _mismatch(main: Engine, keys: Engine, identity: str, bound: Binding) -> str:
    """The one message for a key store bound to another database."""
    return (
        f"The key store {safe_url(keys.url)} belongs to another database "
        f"({bound.database_url}, identity {bound.identity}), not to "
        f"{safe_url(main.url)} (identity {identity}). {UNCHANGED} Point ASSENSO_KEYSTORE_URL "
        "at the key store of "
        f"{safe_url(main.url)}, or DATABASE_URL at {bound.database_url}; to start this "
        "database afresh, move that key store away."
    )


def _reach(engine: Engine, name: str, read):
    """``read(engine)``, turning a database that cannot be reached into a clear ConfigError."""
    try:
        return read(engine)
    except OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
        raise ConfigError(f"{name} ({safe_url(engine.url)}) cannot be opened: {reason}") from None
