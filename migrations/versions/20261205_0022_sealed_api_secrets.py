"""Webhook signing secrets and the answers kept for idempotent API requests sealed under the
vault's key-encryption keys; the integrator's reference sealed under each customer's data key
(and kept sealed on the webhook messages of an erased customer); idempotency records indexed by
their age, for their purge.

The existing secrets and answers are sealed here, under the active key of ``ASSENSO_VAULT_KEYS``
(the migration runs inside the application, which has read the keys), and opened again by the
downgrade. References made before this revision exist only as blind indexes and stay without
a sealed copy: their webhooks carry the pseudonymous id alone.

SQLite adds the NOT NULL column in place with an empty default (rebuilding the table would
delete the subscriptions' messages through their foreign key); PostgreSQL fills it, then
makes it NOT NULL.

Revision ID: 0022_sealed_api_secrets
Revises: 0021_api_and_webhooks
Create Date: 2026-12-05 07:45:00.000000

"""
from alembic import op
import sqlalchemy as sa
from flask import current_app

from app.vault.sealed import seal, unseal


# revision identifiers, used by Alembic.
revision = '0022_sealed_api_secrets'
down_revision = '0021_api_and_webhooks'
branch_labels = None
depends_on = None

SECRET_LABEL = "webhook-secret"
ANSWER_LABEL = "api-answer"

subscriptions = sa.table(
    'webhook_subscriptions',
    sa.column('id', sa.Integer),
    sa.column('url', sa.String),
    sa.column('secret', sa.String),
    sa.column('secret_sealed', sa.LargeBinary),
)
answers = sa.table(
    'api_idempotency',
    sa.column('id', sa.Integer),
    sa.column('key_id', sa.Integer),
    sa.column('idempotency_key', sa.String),
    sa.column('response_body', sa.Text),
    sa.column('response_sealed', sa.LargeBinary),
)


def _keys():
    return current_app.extensions["assenso"].vault_keys


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def _add_required(table: str, name: str, kind, empty: str) -> None:
    """Add a column that ends NOT NULL: filled by the caller, then constrained (PostgreSQL)."""
    if _sqlite():
        column = sa.Column(name, kind, nullable=False, server_default=sa.text(empty))
    else:
        column = sa.Column(name, kind, nullable=True)
    op.add_column(table, column)


def _require(table: str, name: str, kind) -> None:
    if not _sqlite():
        op.alter_column(table, name, existing_type=kind, nullable=False)


def _answer_context(row) -> str:
    return f"{row.key_id}\x00{row.idempotency_key}"


def upgrade():
    keys, bind = _keys(), op.get_bind()
    _add_required('webhook_subscriptions', 'secret_sealed', sa.LargeBinary(), "x''")
    for row in bind.execute(sa.select(subscriptions.c.id, subscriptions.c.url, subscriptions.c.secret)):
        sealed = seal(keys, SECRET_LABEL, row.url, row.secret.encode())
        bind.execute(
            subscriptions.update().where(subscriptions.c.id == row.id).values(secret_sealed=sealed)
        )
    _require('webhook_subscriptions', 'secret_sealed', sa.LargeBinary())
    op.drop_column('webhook_subscriptions', 'secret')

    op.add_column('api_idempotency', sa.Column('response_sealed', sa.LargeBinary(), nullable=True))
    query = sa.select(answers.c.id, answers.c.key_id, answers.c.idempotency_key, answers.c.response_body)
    for row in bind.execute(query.where(answers.c.response_body.is_not(None))):
        sealed = seal(keys, ANSWER_LABEL, _answer_context(row), row.response_body.encode())
        bind.execute(answers.update().where(answers.c.id == row.id).values(response_sealed=sealed))
    op.drop_column('api_idempotency', 'response_body')
    op.create_index('ix_api_idempotency_created_at', 'api_idempotency', ['created_at'], unique=False)

    op.add_column('webhook_messages', sa.Column('reference_sealed', sa.LargeBinary(), nullable=True))
    # Added in place, not by copying the table (SQLite's batch mode would drop its triggers).
    op.add_column('customers', sa.Column('reference_sealed', sa.LargeBinary(), nullable=True))


def downgrade():
    keys, bind = _keys(), op.get_bind()
    op.drop_column('customers', 'reference_sealed')
    op.drop_column('webhook_messages', 'reference_sealed')

    op.drop_index('ix_api_idempotency_created_at', table_name='api_idempotency')
    op.add_column('api_idempotency', sa.Column('response_body', sa.Text(), nullable=True))
    query = sa.select(answers.c.id, answers.c.key_id, answers.c.idempotency_key, answers.c.response_sealed)
    for row in bind.execute(query.where(answers.c.response_sealed.is_not(None))):
        body = unseal(keys, ANSWER_LABEL, _answer_context(row), row.response_sealed).decode()
        bind.execute(answers.update().where(answers.c.id == row.id).values(response_body=body))
    op.drop_column('api_idempotency', 'response_sealed')

    _add_required('webhook_subscriptions', 'secret', sa.String(length=100), "''")
    for row in bind.execute(
        sa.select(subscriptions.c.id, subscriptions.c.url, subscriptions.c.secret_sealed)
    ):
        secret = unseal(keys, SECRET_LABEL, row.url, row.secret_sealed).decode()
        bind.execute(subscriptions.update().where(subscriptions.c.id == row.id).values(secret=secret))
    _require('webhook_subscriptions', 'secret', sa.String(length=100))
    op.drop_column('webhook_subscriptions', 'secret_sealed')
