"""Offers that learn: how each offer was chosen and answered, and per-customer affinities.

* ``offer_history`` gains ``arm`` (``model`` or ``random``), ``response`` (``click``,
  ``more``, ``less``) and ``responded_at``.
* ``offer_affinities``: per customer and offer, times shown, clicks, "more like this" and
  "less like this" — the counts of the offer choice's Beta posteriors. Ids and counts only.

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

    op.create_table('offer_affinities',
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('offer_id', sa.String(length=64), nullable=False),
    sa.Column('shown', sa.Integer(), nullable=False),
    sa.Column('clicked', sa.Integer(), nullable=False),
    sa.Column('more', sa.Integer(), nullable=False),
    sa.Column('less', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_offer_affinities_customer_id_customers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('customer_id', 'offer_id', name=op.f('pk_offer_affinities'))
    )


def downgrade():
    op.drop_table('offer_affinities')
    with op.batch_alter_table('offer_history', schema=None) as batch_op:
        batch_op.drop_column('responded_at')
        batch_op.drop_column('response')
        batch_op.drop_column('arm')
