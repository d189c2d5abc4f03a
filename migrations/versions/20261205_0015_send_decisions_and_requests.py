"""Send-time decisions with their rule-by-rule trace; data-subject request workflow.

``send_decisions`` keeps, per outbox entry, the decision of the worker's send-time re-check
with the engine's full trace (compressed), so "why was this person contacted?" shows what was
decided then. Requests gain identity verification, the signed export link's current id, and
``request_reminders``: the deadline reminders a scheduled job sends (state in the database).

Revision ID: 0017_send_decisions
Revises: 0020_offer_learning
Create Date: 2026-12-05 05:00:00

"""
import sqlalchemy as sa
from alembic import op



# revision identifiers, used by Alembic.
revision = '0017_send_decisions'
down_revision = '0020_offer_learning'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'send_decisions',
        sa.Column('outbox_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('decided_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('outcome', sa.String(length=8), nullable=False),
        sa.Column('rule_id', sa.String(length=40), nullable=False),
        sa.Column('trace', sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(['outbox_id'], ['outbox.id'], name=op.f('fk_send_decisions_outbox_id_outbox'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('outbox_id', name=op.f('pk_send_decisions')),
    )
    with op.batch_alter_table('data_subject_requests') as batch:
        batch.add_column(sa.Column('identity_status', sa.String(length=16), nullable=False,
                                   server_default='verified'))
        batch.add_column(sa.Column('identity_method', sa.String(length=120), nullable=True))
        batch.add_column(sa.Column('identity_verified_at', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('export_link_id', sa.String(length=32), nullable=True))
    op.create_table(
        'data_subject_request_reminders',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('request_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('remind_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['request_id'], ['data_subject_requests.id'],
                                name=op.f('fk_data_subject_request_reminders_request_id_data_subject_requests'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_data_subject_request_reminders')),
        sa.UniqueConstraint('request_id', 'kind', name=op.f('uq_data_subject_request_reminders_request_id_kind')),
    )
    op.create_index('ix_data_subject_request_reminders_due', 'data_subject_request_reminders',
                    ['sent_at', 'remind_at'], unique=False)


def downgrade():
    op.drop_index('ix_data_subject_request_reminders_due', table_name='data_subject_request_reminders')
    op.drop_table('data_subject_request_reminders')
    with op.batch_alter_table('data_subject_requests') as batch:
        batch.drop_column('export_link_id')
        batch.drop_column('identity_verified_at')
        batch.drop_column('identity_method')
        batch.drop_column('identity_status')
    op.drop_table('send_decisions')
