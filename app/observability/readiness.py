"""Readiness: may this process take traffic? Four checks, each named when it fails.

* ``database``: the main database answers.
* ``keystore``: the key store answers and is bound to this database (its identity).
* ``policy``: a policy set is in force and this process can build it from the stored files.
* ``migrations``: the database's schema is at the head of this code's migrations.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import cache

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Flask
from sqlalchemy import select, text

from app.extensions import db
from app.policy_sets.in_force import check_in_force
from app.vault.keystore import BIND
from app.vault.models import DatabaseIdentity, KeystoreBinding

log = logging.getLogger("assenso.readiness")


class NotReady(Exception):
    """A check found the process not ready; the message says why (for the log only)."""


def check_database(_app: Flask) -> None:
    """The main database answers."""
    with db.engine.connect() as connection:
        connection.execute(text("SELECT 1"))


def check_keystore(_app: Flask) -> None:
    """The key store answers and belongs to this database."""
    with db.engines[BIND].connect() as connection:
        bound = connection.scalar(
            select(KeystoreBinding.database_identity).where(KeystoreBinding.id == 1)
        )
    with db.engine.connect() as connection:
        identity = connection.scalar(
            select(DatabaseIdentity.identity).where(DatabaseIdentity.id == 1)
        )
    if bound is None or bound != identity:
        raise NotReady("the key store is not bound to this database")


def check_policy(_app: Flask) -> None:
    """A policy set is in force and can be built from its stored files."""
    check_in_force()


@cache
def migration_heads(directory: str) -> frozenset[str]:
    """The head revisions of the migrations in ``directory`` (this code's schema)."""
    return frozenset(ScriptDirectory(directory).get_heads())


def check_migrations(app: Flask) -> None:
    """The database's schema is at this code's migration head."""
    heads = migration_heads(str(app.extensions["migrate"].directory))
    with db.engine.connect() as connection:
        current = frozenset(MigrationContext.configure(connection).get_current_heads())
    if current != heads:
        raise NotReady(f"the database is at {sorted(current)}, the code at {sorted(heads)}")


CHECKS: dict[str, Callable[[Flask], None]] = {
    "database": check_database,
    "keystore": check_keystore,
    "policy": check_policy,
    "migrations": check_migrations,
}


def readiness(app: Flask) -> dict[str, bool]:
    """Each check's name and whether it passed; a failure is logged with its reason."""
    results = {}
    for name, check in CHECKS.items():
        try:
            check(app)
        except NotReady as exc:
            log.warning("not ready: %s: %s", name, exc)
            results[name] = False
        except Exception as exc:  # any failure of a probe means "not ready", never a 500
            log.warning("not ready: %s: %s", name, type(exc).__name__)
            results[name] = False
        else:
            results[name] = True
    return results
