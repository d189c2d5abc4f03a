"""The policy set in force lives in the database; campaigns lose their ``transactional`` flag.

* ``policy_set_revisions``: one row per load of the policy set (who, when, why, the set's
  hash); the newest is in force for every process. ``previous_id`` names the row it replaced
  (0 for the first) and is unique, so two loads racing from the same set cannot both commit.
* ``policy_set_files``: the file revisions (``policy_revisions``) of each set revision.
* ``campaigns.transactional`` is dropped: a campaign is always direct marketing, and the
  customer's own relationship messages are never campaigns.

No set is recorded here: the first process to need the policies records the files it found
on disk as the first set in force (actor ``system``).

Revision ID: 0009_policy_in_force
Revises: 0008_audience_storage
Create Date: 2026-12-05 10:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009_policy_in_force'
down_revision = '0008_audience_storage'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('policy_set_revisions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('previous_id', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('loaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=120), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_policy_set_revisions')),
    sa.UniqueConstraint('previous_id', name=op.f('uq_policy_set_revisions_previous_id'))
    )
    op.create_table('policy_set_files',
    sa.Column('set_id', sa.Integer(), nullable=False),
    sa.Column('revision_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['revision_id'], ['policy_revisions.id'], name=op.f('fk_policy_set_files_revision_id_policy_revisions')),
    sa.ForeignKeyConstraint(['set_id'], ['policy_set_revisions.id'], name=op.f('fk_policy_set_files_set_id_policy_set_revisions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('set_id', 'revision_id', name=op.f('pk_policy_set_files'))
    )
    # A plain ALTER TABLE on both engines (SQLite >= 3.35): batch mode would copy and drop the
    # campaigns table, and with foreign keys on, dropping it deletes every template, run and
    # decision that refers to it.
    op.drop_column('campaigns', 'transactional')


def downgrade():
    op.add_column('campaigns', sa.Column('transactional', sa.Boolean(), nullable=False, server_default=sa.false()))
    op.drop_table('policy_set_files')
    op.drop_table('policy_set_revisions')
