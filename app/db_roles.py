"""The application's database role on PostgreSQL: what it may do, granted by the schema's owner.

Migrations run as the owner of the schema; the application (web, scheduler, workers) runs as
a role of its own that owns nothing. A table's owner may ``ALTER TABLE … DISABLE TRIGGER``
and so switch off the ledger's append-only guards; a role that owns nothing cannot. On the
ledger's tables the application's role may only read and insert; it may read the schema
version and read and (when lost) write the database's identity; elsewhere it may read and
write rows. It may create no table and change no schema.

Grants cover the tables that exist: run :func:`grant_app_role` again after every migration
(``make run-production`` does).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, Engine, text

from app.errors import InvalidInput
from app.ledger.models import Checkpoint, ConsentEvent, MerkleNode, Notice
from app.vault.models import DatabaseIdentity

#: The ledger's append-only tables (their triggers refuse UPDATE, DELETE and TRUNCATE).
LEDGER_TABLES = tuple(
    model.__tablename__ for model in (ConsentEvent, MerkleNode, Checkpoint, Notice)
)
#: Tables the application reads and inserts into but never changes.
INSERT_ONLY = (*LEDGER_TABLES, DatabaseIdentity.__tablename__)
READ_ONLY = ("alembic_version",)


@dataclass(frozen=True)
class Grant:
    """What :func:`grant_app_role` did."""

    role: str
    created: bool
    tables: int


def grant_app_role(engine: Engine, role: str, password: str | None = None) -> Grant:
    """Create ``role`` when missing (with ``password``), and grant it what the app needs.

    Runs as the schema's owner. Refuses a role that is a superuser, owns a table of the
    schema, or is (a member of) the role running this: each could disable the guards.
    """
    if engine.dialect.name != "postgresql":
        raise InvalidInput("Database roles are a PostgreSQL matter: SQLite has none to grant.")
    if not role or not role.strip():
        raise InvalidInput("Name the application's database role.")
    with engine.begin() as connection:
        created = _ensure_role(connection, role, password)
        _refuse_powerful(connection, role)
        tables = _grant(connection, role)
    return Grant(role, created, tables)


def _quoted(connection: Connection, role: str) -> str:
    """``role`` quoted as an SQL identifier by the server."""
    return connection.scalar(text("SELECT quote_ident(:role)"), {"role": role})


def _ensure_role(connection: Connection, role: str, password: str | None) -> bool:
    """Create the login role if it does not exist; set its password when one is given."""
    exists = connection.scalar(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role})
    name = _quoted(connection, role)
    if not exists:
        connection.execute(text(f"CREATE ROLE {name} LOGIN"))
    if password:
        secret = connection.scalar(text("SELECT quote_literal(:p)"), {"p": password})
        connection.execute(text(f"ALTER ROLE {name} LOGIN PASSWORD {secret}"))
    return not exists


def _refuse_powerful(connection: Connection, role: str) -> None:
    """Refuse a role that could alter the tables: a superuser, an owner or a member of one."""
    advice = "Give the application a role of its own that owns nothing."
    if connection.scalar(text("SELECT rolsuper FROM pg_roles WHERE rolname = :r"), {"r": role}):
        raise InvalidInput(f"The role {role!r} is a superuser: it could do anything. {advice}")
    owners = connection.execute(
        text(
            "SELECT tableowner FROM pg_tables WHERE schemaname = 'public' UNION SELECT current_user"
        )
    ).scalars()
    for owner in owners:
        if connection.scalar(
            text("SELECT pg_has_role(:r, :owner, 'MEMBER')"), {"r": role, "owner": owner}
        ):
            raise InvalidInput(
                f"The role {role!r} is, or is a member of, {owner!r}, which owns the tables or "
                f"runs this command: it could disable the ledger's guards. {advice}"
            )


def _grant(connection: Connection, role: str) -> int:
    """Replace the role's privileges on the schema's tables and sequences; returns tables."""
    name = _quoted(connection, role)
    database = connection.scalar(text("SELECT quote_ident(current_database())"))
    tables = connection.execute(
        text(
            "SELECT tablename, quote_ident(tablename) FROM pg_tables "
            "WHERE schemaname = 'public' ORDER BY tablename"
        )
    ).all()
    statements = [
        f"GRANT CONNECT ON DATABASE {database} TO {name}",
        f"GRANT USAGE ON SCHEMA public TO {name}",
        f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {name}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {name}",
    ]
    for table, quoted in tables:
        statements.append(f"GRANT {_privileges(table)} ON TABLE public.{quoted} TO {name}")
    for statement in statements:
        connection.execute(text(statement))
    return len(tables)


def _privileges(table: str) -> str:
    """The privileges of the application's role on ``table``."""
    if table in READ_ONLY:
        return "SELECT"
    if table in INSERT_ONLY:
        return "SELECT, INSERT"
    return "SELECT, INSERT, UPDATE, DELETE"
