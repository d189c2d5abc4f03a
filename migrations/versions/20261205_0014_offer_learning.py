"""Offers that learn: how each offer was chosen and how the customer answered it.

``offer_history`` gains ``arm`` (``model`` or ``random``), ``response`` (``click``, ``more``,
``less``) and ``responded_at``; the offer choice's Beta posteriors count these rows.

Revision ID: 0020_offer_learning
Revises: 0011_outbox_lease_token
Create Date: 2026-12-05 05:00:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0020_offer_learning'
down_revision = '0011_outbox_lease_token'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('offer_history', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('arm', sa.String(length=8), server_default='model', nullable=False)
        )
        batch_op.add_column(sa.Column('response', sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column('responded_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('offer_history', schema=None) as batch_op:
        batch_op.drop_column('responded_at')
        batch_op.drop_column('response')
        batch_op.drop_column('arm')
