"""The database's identity, two-store markers on customers, and the scheduler's job table.

* ``database_identity`` holds one random identity, written here when the database is created
  (or upgraded to this revision). The key store records the identity of the database it
  belongs to when it is first used with it; a key store of another database is refused.
* ``customers.registration_pending`` and ``customers.erasure_requested_at`` mark a sign-up or
  an erasure whose writes to the main database and the key store are not both done yet, so
  that an interruption is finished or undone instead of leaving the two stores apart.
* ``apscheduler_jobs``, APScheduler 3's job store table (its own columns and index), is created
  here, by the schema's owner: the application's role may not create tables. A database where
  the scheduler had already created it keeps it as it is.

Revision ID: 0010_store_identity
Revises: 0009_policy_in_force
Create Date: 2026-12-05 09:00:00

"""
import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0010_store_identity'
down_revision = '0009_policy_in_force'
branch_labels = None
depends_on = None

JOBSTORE_TABLE = "apscheduler_jobs"


def upgrade():
    identity = op.create_table(
        'database_identity',
        sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('identity', sa.String(length=36), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_database_identity')),
    )
    now = datetime.now(UTC)
    if op.get_bind().dialect.name == "sqlite":
        now = now.replace(tzinfo=None)  # SQLite stores UTC without an offset (UTCDateTime)
    op.bulk_insert(identity, [{"id": 1, "identity": str(uuid.uuid4()), "created_at": now}])
    op.add_column(
        'customers',
        sa.Column('registration_pending', sa.Boolean(), server_default=sa.false(),
                  nullable=False),
    )
    op.add_column(
        'customers', sa.Column('erasure_requested_at', sa.DateTime(timezone=True), nullable=True)
    )
    if not sa.inspect(op.get_bind()).has_table(JOBSTORE_TABLE):
        op.create_table(
            JOBSTORE_TABLE,
            sa.Column('id', sa.Unicode(length=191), nullable=False),
            sa.Column('next_run_time', sa.Float(precision=25), nullable=True),
            sa.Column('job_state', sa.LargeBinary(), nullable=False),
            sa.PrimaryKeyConstraint('id'),
        )
        op.create_index(
            'ix_apscheduler_jobs_next_run_time', JOBSTORE_TABLE, ['next_run_time'], unique=False
        )


def downgrade():
    # The job table stays: the scheduler of the previous revisions uses it as it is.
    # SQLite drops a column in place (3.35+); a batch copy of customers would cascade.
    op.execute("ALTER TABLE customers DROP COLUMN erasure_requested_at")
    op.execute("ALTER TABLE customers DROP COLUMN registration_pending")
    op.drop_table('database_identity')
