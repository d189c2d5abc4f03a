"""Customer value: fitted models (value_fits) and per-customer predictions and classes.

* ``value_fits``: one row per fit of the BG/NBD and Gamma-Gamma models: parameters,
  log-likelihoods, data size, the valuation settings used, class thresholds, class counts and
  the movement between classes since the previous fit. No person appears in it.
* ``customer_values`` gains the model's predictions (probability alive, expected purchases
  and amount, future lifetime value), the margin so far and the profitability class;
  ``expected_value_cents`` (now the model's 12-month spend) may be empty while no fit exists.

Revision ID: 0015_value_fits
Revises: 0010_store_identity
Create Date: 2026-12-05 09:00:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0015_value_fits'
down_revision = '0010_store_identity'
branch_labels = None
depends_on = None

NEW_COLUMNS = (
    ('current_value_cents', sa.Integer()),
    ('fit_id', sa.Integer()),
    ('p_alive', sa.Float()),
    ('expected_purchases', sa.Float()),
    ('expected_amount_cents', sa.Integer()),
    ('fltv_cents', sa.Integer()),
    ('value_class', sa.String(length=16)),
)


def upgrade():
    op.create_table('value_fits',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('fitted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('trigger', sa.String(length=16), nullable=False),
    sa.Column('time_unit', sa.String(length=8), nullable=False),
    sa.Column('customers', sa.Integer(), nullable=False),
    sa.Column('repeat_customers', sa.Integer(), nullable=False),
    sa.Column('transactions', sa.Integer(), nullable=False),
    sa.Column('bgnbd_r', sa.Float(), nullable=False),
    sa.Column('bgnbd_alpha', sa.Float(), nullable=False),
    sa.Column('bgnbd_a', sa.Float(), nullable=False),
    sa.Column('bgnbd_b', sa.Float(), nullable=False),
    sa.Column('bgnbd_log_likelihood', sa.Float(), nullable=False),
    sa.Column('gg_p', sa.Float(), nullable=False),
    sa.Column('gg_q', sa.Float(), nullable=False),
    sa.Column('gg_gamma', sa.Float(), nullable=False),
    sa.Column('gg_log_likelihood', sa.Float(), nullable=False),
    sa.Column('margin_percent', sa.Float(), nullable=False),
    sa.Column('discount_rate_percent', sa.Float(), nullable=False),
    sa.Column('horizon_months', sa.Integer(), nullable=False),
    sa.Column('cost_per_order_cents', sa.Integer(), nullable=False),
    sa.Column('high_current_cents', sa.Integer(), nullable=True),
    sa.Column('high_potential_cents', sa.Integer(), nullable=True),
    sa.Column('class_counts_json', sa.Text(), nullable=False),
    sa.Column('movement_json', sa.Text(), nullable=False),
    sa.Column('seconds', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_value_fits'))
    )
    with op.batch_alter_table('value_fits', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_value_fits_fitted_at'), ['fitted_at'], unique=False)

    with op.batch_alter_table('customer_values', schema=None) as batch_op:
        for name, kind in NEW_COLUMNS:
            batch_op.add_column(sa.Column(name, kind, nullable=True))
        batch_op.alter_column('expected_value_cents', existing_type=sa.Integer(), nullable=True)
        batch_op.create_foreign_key(
            batch_op.f('fk_customer_values_fit_id_value_fits'), 'value_fits', ['fit_id'], ['id'],
            ondelete='SET NULL',
        )


def downgrade():
    op.execute("DELETE FROM customer_values")  # derived scores; the next computation refills
    with op.batch_alter_table('customer_values', schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f('fk_customer_values_fit_id_value_fits'), type_='foreignkey'
        )
        batch_op.alter_column('expected_value_cents', existing_type=sa.Integer(), nullable=False)
        for name, _ in reversed(NEW_COLUMNS):
            batch_op.drop_column(name)

    with op.batch_alter_table('value_fits', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_value_fits_fitted_at'))

    op.drop_table('value_fits')
