"""Outbox: the claim index covers the claim's whole order (status, not_before, id).

A campaign's entries share one not_before; with the index on (status, not_before) every claim
sorted all due entries again to order them by id (O(queue) per batch of 500).

Revision ID: 0006_outbox_claim_order
Revises: 0005_ledger_order
Create Date: 2026-11-23 12:20:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0006_outbox_claim_order'
down_revision = '0005_ledger_order'
branch_labels = None
depends_on = None


def upgrade():
    op.drop_index('ix_outbox_status_not_before', table_name='outbox')
    op.create_index('ix_outbox_status_not_before_id', 'outbox', ['status', 'not_before', 'id'])


def downgrade():
    op.drop_index('ix_outbox_status_not_before_id', table_name='outbox')
    op.create_index('ix_outbox_status_not_before', 'outbox', ['status', 'not_before'])
