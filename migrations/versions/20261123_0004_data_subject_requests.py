"""Data-subject requests and their action history (pseudonymous; details sealed per customer).

Revision ID: 0004_dsr
Revises: 0003_marketing
Create Date: 2026-11-23 04:40:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0004_dsr'
down_revision = '0003_marketing'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('data_subject_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('customer_ref', sa.String(length=36), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('extended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('extension_reason', sa.Text(), nullable=True),
    sa.Column('assignee_id', sa.Integer(), nullable=True),
    sa.Column('details', sa.LargeBinary(), nullable=True),
    sa.Column('created_by', sa.String(length=120), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('outcome', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['assignee_id'], ['staff_users.id'], name=op.f('fk_data_subject_requests_assignee_id_staff_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_data_subject_requests_customer_id_customers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_data_subject_requests'))
    )
    with op.batch_alter_table('data_subject_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_data_subject_requests_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index('ix_data_subject_requests_status_due', ['status', 'due_at'], unique=False)

    op.create_table('data_subject_request_actions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=120), nullable=False),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['request_id'], ['data_subject_requests.id'], name=op.f('fk_data_subject_request_actions_request_id_data_subject_requests'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_data_subject_request_actions'))
    )
    with op.batch_alter_table('data_subject_request_actions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_data_subject_request_actions_request_id'), ['request_id'], unique=False)


def downgrade():
    with op.batch_alter_table('data_subject_request_actions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_data_subject_request_actions_request_id'))

    op.drop_table('data_subject_request_actions')
    with op.batch_alter_table('data_subject_requests', schema=None) as batch_op:
        batch_op.drop_index('ix_data_subject_requests_status_due')
        batch_op.drop_index(batch_op.f('ix_data_subject_requests_customer_id'))

    op.drop_table('data_subject_requests')
