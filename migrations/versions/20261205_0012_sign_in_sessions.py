"""Server-side sign-in sessions: one row per signed-in browser, ended at sign-out.

The cookie names a session by a random id; only its SHA-256 is stored. No address, browser
or other personal data of the person is kept.

Revision ID: 0012_sign_in_sessions
Revises: 0015_value_fits
Create Date: 2026-12-05 09:00:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0012_sign_in_sessions'
down_revision = '0015_value_fits'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('sign_in_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('account_kind', sa.String(length=16), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ended_by', sa.String(length=32), nullable=True),
    sa.CheckConstraint("account_kind IN ('staff', 'customer')", name=op.f('ck_sign_in_sessions_account_kind_known')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sign_in_sessions')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_sign_in_sessions_token_hash'))
    )
    with op.batch_alter_table('sign_in_sessions', schema=None) as batch_op:
        batch_op.create_index('ix_sign_in_sessions_account', ['account_kind', 'account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_sign_in_sessions_expires_at'), ['expires_at'], unique=False)


def downgrade():
    with op.batch_alter_table('sign_in_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sign_in_sessions_expires_at'))
        batch_op.drop_index('ix_sign_in_sessions_account')
    op.drop_table('sign_in_sessions')
