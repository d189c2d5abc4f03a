"""Marketing: customer value scores and offer history (pseudonymous, no plaintext).

Revision ID: 0003_marketing
Revises: 0002_campaigns
Create Date: 2026-11-23 10:00:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0003_marketing'
down_revision = '0002_campaigns'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('customer_values',
    sa.Column('customer_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('recency_score', sa.SmallInteger(), nullable=False),
    sa.Column('frequency_score', sa.SmallInteger(), nullable=False),
    sa.Column('monetary_score', sa.SmallInteger(), nullable=False),
    sa.Column('tier', sa.String(length=16), nullable=False),
    sa.Column('expected_value_cents', sa.Integer(), nullable=False),
    sa.Column('computed_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_customer_values_customer_id_customers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('customer_id', name=op.f('pk_customer_values'))
    )
    with op.batch_alter_table('customer_values', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_customer_values_tier'), ['tier'], unique=False)

    op.create_table('offer_history',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('offer_id', sa.String(length=64), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=True),
    sa.Column('offered_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_offer_history_campaign_id_campaigns'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_offer_history_customer_id_customers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_offer_history'))
    )
    with op.batch_alter_table('offer_history', schema=None) as batch_op:
        batch_op.create_index('ix_offer_history_customer_at', ['customer_id', 'offered_at'], unique=False)


def downgrade():
    with op.batch_alter_table('offer_history', schema=None) as batch_op:
        batch_op.drop_index('ix_offer_history_customer_at')

    op.drop_table('offer_history')
    with op.batch_alter_table('customer_values', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_customer_values_tier'))

    op.drop_table('customer_values')
