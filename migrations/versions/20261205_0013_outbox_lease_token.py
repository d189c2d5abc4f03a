"""Outbox: a lease token unique to each claim, which fences every write about a leased entry.

A worker's id names the worker, not the claim: a worker frozen past its lease and resumed while
a replacement ran under the same id passed the old fence and sent messages twice. The column is
nullable (entries never claimed have none) and needs no index: writes name their entries by id.

Revision ID: 0011_outbox_lease_token
Revises: 0012_sign_in_sessions
Create Date: 2026-12-05 10:00:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0011_outbox_lease_token'
down_revision = '0012_sign_in_sessions'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('outbox') as batch:
        batch.add_column(sa.Column('lease_token', sa.String(length=32), nullable=True))


def downgrade():
    with op.batch_alter_table('outbox') as batch:
        batch.drop_column('lease_token')
