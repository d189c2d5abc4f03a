"""Audience reads: the consent state clustered by its key (SQLite), the send log by channel and time.

* On SQLite the consent state becomes a ``WITHOUT ROWID`` table clustered on its primary key
  (customer, purpose, channel): the audience's lookup of each customer's row, and a consent
  change's read and upsert of it, search one B-tree instead of the key's index and then the
  table. The rows are copied unchanged. PostgreSQL is unchanged.
* Both databases get an index on ``send_log (channel, transactional, sent_at, customer_id)``:
  the audience lists the customers with many counted sends in the rolling week from a range of
  it, where it had read the whole send log (every message ever sent) in customer order.

Revision ID: 0008_audience_storage
Revises: 0007_customer_summaries
Create Date: 2026-12-03 18:30:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0008_audience_storage'
down_revision = '0007_customer_summaries'
branch_labels = None
depends_on = None

STATE_COLUMNS = (
    "customer_id", "purpose", "channel", "status", "lawful_basis", "confirmed", "granted_at",
    "expires_at", "notice_version", "last_seq", "updated_at",
)

STATE_DDL = """
CREATE TABLE consent_state_rebuilt (
    customer_id INTEGER NOT NULL,
    purpose VARCHAR(40) NOT NULL,
    channel VARCHAR(16) NOT NULL,
    status VARCHAR(16) NOT NULL,
    lawful_basis VARCHAR(24),
    confirmed BOOLEAN NOT NULL,
    granted_at DATETIME,
    expires_at DATETIME,
    notice_version INTEGER,
    last_seq BIGINT NOT NULL,
    updated_at DATETIME NOT NULL,
    CONSTRAINT pk_consent_state PRIMARY KEY (customer_id, purpose, channel),
    CONSTRAINT fk_consent_state_customer_id_customers FOREIGN KEY(customer_id)
        REFERENCES customers (id) ON DELETE CASCADE
){suffix}
"""


def _rebuild_state(suffix: str) -> None:
    """Copy the consent state into a table made with ``suffix``, then put it in its place
    (no table refers to it, so dropping the old one touches nothing else)."""
    if op.get_bind().dialect.name != "sqlite":
        return
    listed = ", ".join(STATE_COLUMNS)
    op.execute(STATE_DDL.format(suffix=suffix))
    op.execute(
        f"INSERT INTO consent_state_rebuilt ({listed}) SELECT {listed} FROM consent_state "
        "ORDER BY customer_id, purpose, channel"
    )
    op.execute("DROP TABLE consent_state")
    op.execute("ALTER TABLE consent_state_rebuilt RENAME TO consent_state")
    op.create_index(
        "ix_consent_state_purpose_channel", "consent_state", ["purpose", "channel", "status"]
    )


def upgrade():
    _rebuild_state(" WITHOUT ROWID")
    op.create_index(
        "ix_send_log_channel_window",
        "send_log",
        ["channel", "transactional", "sent_at", "customer_id"],
    )


def downgrade():
    op.drop_index("ix_send_log_channel_window", table_name="send_log")
    _rebuild_state("")
