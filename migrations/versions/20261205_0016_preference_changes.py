"""The history of customers' sharing choices and contact limits (no profile values).

Revision ID: 0016_preference_changes
Revises: 0017_send_decisions
Create Date: 2026-12-05 05:00:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0016_preference_changes'
down_revision = '0017_send_decisions'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('preference_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('actor', sa.String(length=120), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_preference_changes_customer_id_customers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_preference_changes'))
    )
    with op.batch_alter_table('preference_changes', schema=None) as batch_op:
        batch_op.create_index('ix_preference_changes_customer_at', ['customer_id', 'changed_at'], unique=False)


def downgrade():
    with op.batch_alter_table('preference_changes', schema=None) as batch_op:
        batch_op.drop_index('ix_preference_changes_customer_at')
    op.drop_table('preference_changes')
