"""SQLite: store the ledger in its own order (seq as the rowid, tree nodes clustered by key).

On SQLite a ``BIGINT PRIMARY KEY`` is a separate index next to the table, so reading the
ledger in order looked every row up twice and every append wrote two B-trees. Declaring
``seq INTEGER PRIMARY KEY`` makes it the rowid (the table *is* the ordered ledger), and
``merkle_nodes`` becomes a ``WITHOUT ROWID`` table clustered on ``(level, idx)``. The rows are
copied unchanged, in order; the append-only guards and indexes are created again.
PostgreSQL is unchanged (its primary keys already serve both).

Revision ID: 0005_ledger_order
Revises: 0004_dsr
Create Date: 2026-11-23 09:30:00

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0005_ledger_order'
down_revision = '0004_dsr'
branch_labels = None
depends_on = None

EVENT_COLUMNS = (
    "seq", "record_id", "customer_ref", "purpose", "channel", "action", "lawful_basis",
    "notice_id", "notice_version", "notice_hash", "method", "source", "actor", "reason",
    "jurisdiction", "language", "event_time", "expires_at", "evidence", "leaf_hash",
)

EVENTS_DDL = """
CREATE TABLE {name} (
    seq {seq_type} NOT NULL,
    record_id VARCHAR(36) NOT NULL,
    customer_ref VARCHAR(36) NOT NULL,
    purpose VARCHAR(40) NOT NULL,
    channel VARCHAR(16) NOT NULL,
    action VARCHAR(24) NOT NULL,
    lawful_basis VARCHAR(24) NOT NULL,
    notice_id INTEGER,
    notice_version INTEGER,
    notice_hash VARCHAR(64),
    method VARCHAR(24) NOT NULL,
    source VARCHAR(24) NOT NULL,
    actor VARCHAR(120) NOT NULL,
    reason TEXT,
    jurisdiction VARCHAR(8) NOT NULL,
    language VARCHAR(8) NOT NULL,
    event_time DATETIME NOT NULL,
    expires_at DATETIME,
    evidence BLOB,
    leaf_hash BLOB NOT NULL,
    CONSTRAINT pk_consent_events PRIMARY KEY (seq),
    CONSTRAINT uq_consent_events_record_id UNIQUE (record_id)
)
"""

NODES_DDL = """
CREATE TABLE {name} (
    level SMALLINT NOT NULL,
    idx BIGINT NOT NULL,
    hash BLOB NOT NULL,
    CONSTRAINT pk_merkle_nodes PRIMARY KEY (level, idx)
){suffix}
"""

EVENT_INDEXES = (
    "CREATE INDEX ix_consent_events_customer_seq ON consent_events (customer_ref, seq)",
    "CREATE INDEX ix_consent_events_purpose_seq ON consent_events (purpose, seq)",
    "CREATE INDEX ix_consent_events_time_seq ON consent_events (event_time, seq)",
)


def _guard(table):
    for verb in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: {verb} refused'); END"
        )


def _rebuild(table, ddl, columns, order):
    """Copy ``table`` into a table made by ``ddl``, in ``order``, then put it in its place."""
    listed = ", ".join(columns)
    op.execute(ddl.format(name=f"{table}_rebuilt"))
    op.execute(
        f"INSERT INTO {table}_rebuilt ({listed}) SELECT {listed} FROM {table} ORDER BY {order}"
    )
    op.execute(f"DROP TABLE {table}")  # its triggers and indexes go with it
    op.execute(f"ALTER TABLE {table}_rebuilt RENAME TO {table}")
    _guard(table)


def _apply(seq_type, nodes_suffix):
    if op.get_bind().dialect.name != "sqlite":
        return
    _rebuild(
        "consent_events",
        EVENTS_DDL.replace("{seq_type}", seq_type),
        EVENT_COLUMNS,
        "seq",
    )
    for statement in EVENT_INDEXES:
        op.execute(statement)
    _rebuild(
        "merkle_nodes",
        NODES_DDL.replace("{suffix}", nodes_suffix),
        ("level", "idx", "hash"),
        "level, idx",
    )


def upgrade():
    _apply("INTEGER", " WITHOUT ROWID")


def downgrade():
    _apply("BIGINT", "")
