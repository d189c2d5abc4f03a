"""Sealed summaries derived from profile fields (the offer choice's purchase summaries).

Each row is a summary of one customer's field, AES-GCM under their data key, with the nonce of
the field ciphertext it was made from (``source``). Existing customers get theirs the first
time the offer choice reads their history (a missing or stale summary is made again then).

Revision ID: 0023_field_summaries
Revises: 0022_sealed_api_secrets
Create Date: 2026-12-05 08:00:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0023_field_summaries'
down_revision = '0022_sealed_api_secrets'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('field_summaries',
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('field', sa.String(length=32), nullable=False),
    sa.Column('source', sa.LargeBinary(), nullable=False),
    sa.Column('ciphertext', sa.LargeBinary(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_field_summaries_customer_id_customers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('customer_id', 'field', name=op.f('pk_field_summaries'))
    )


def downgrade():
    op.drop_table('field_summaries')
