"""Customers carry summaries of their suppressions and sharing choices, kept by triggers.

``customers.suppressed_on`` lists the channels a customer is suppressed on and
``customers.shared_for`` the ``purpose:field`` pairs they share, each token enclosed in commas
(``,`` alone: none). The audience query reads them from the customer's own row instead of
looking up two more tables per customer. Triggers rewrite a customer's summary from their
rows after every insert, update or delete on ``suppressions`` and ``sharing_choices``, in the
same transaction; on PostgreSQL the customer's row is locked first, so that two transactions
changing the same customer's rows cannot lose one another's change. Existing rows are
summarised here once.

Revision ID: 0007_customer_summaries
Revises: 0006_outbox_claim_order
Create Date: 2026-12-03 17:40:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0007_customer_summaries'
down_revision = '0006_outbox_claim_order'
branch_labels = None
depends_on = None

#: (summary column, source table, token expression, filter of the rows summarised)
SUMMARIES = (
    ("suppressed_on", "suppressions", "channel", "TRUE"),
    ("shared_for", "sharing_choices", "purpose || ':' || field", "shared"),
)
#: Source columns whose change changes the summary (SQLite's UPDATE OF list).
WATCHED = {"suppressions": "customer_id, channel",
           "sharing_choices": "customer_id, field, purpose, shared"}


def _sqlite_summary(table: str, token: str, where: str, customer: str) -> str:
    return (
        f"(SELECT coalesce(',' || group_concat({token}, ',') || ',', ',') FROM {table} "
        f"WHERE customer_id = {customer} AND {where})"
    )


def _pg_summary(table: str, token: str, where: str, customer: str) -> str:
    return (
        f"coalesce(',' || (SELECT string_agg({token}, ',' ORDER BY {token}) FROM {table} "
        f"WHERE customer_id = {customer} AND {where}) || ',', ',')"
    )


def _sqlite_triggers(column: str, table: str, token: str, where: str) -> list[str]:
    def rewrite(row: str) -> str:
        summary = _sqlite_summary(table, token, where, f"{row}.customer_id")
        return f"UPDATE customers SET {column} = {summary} WHERE id = {row}.customer_id;"

    return [
        f"CREATE TRIGGER {table}_summary_insert AFTER INSERT ON {table} "
        f"BEGIN {rewrite('NEW')} END",
        f"CREATE TRIGGER {table}_summary_delete AFTER DELETE ON {table} "
        f"BEGIN {rewrite('OLD')} END",
        f"CREATE TRIGGER {table}_summary_update AFTER UPDATE OF {WATCHED[table]} ON {table} "
        f"BEGIN {rewrite('OLD')} {rewrite('NEW')} END",
    ]


def _pg_triggers(column: str, table: str, token: str, where: str) -> list[str]:
    summary = _pg_summary(table, token, where, "target")
    return [
        f"""
CREATE OR REPLACE FUNCTION assenso_summarise_{table}(target BIGINT) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    -- Lock first: the next statement then sees every committed change of this customer's rows.
    PERFORM 1 FROM customers WHERE id = target FOR UPDATE;
    UPDATE customers SET {column} = {summary} WHERE id = target;
END
$$;
""",
        f"""
CREATE OR REPLACE FUNCTION assenso_{table}_summary() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        PERFORM assenso_summarise_{table}(OLD.customer_id);
    END IF;
    IF TG_OP = 'INSERT' THEN
        PERFORM assenso_summarise_{table}(NEW.customer_id);
    ELSIF TG_OP = 'UPDATE' AND NEW.customer_id <> OLD.customer_id THEN
        PERFORM assenso_summarise_{table}(NEW.customer_id);
    END IF;
    RETURN NULL;
END
$$;
""",
        f"CREATE TRIGGER {table}_summary AFTER INSERT OR UPDATE OR DELETE ON {table} "
        f"FOR EACH ROW EXECUTE FUNCTION assenso_{table}_summary()",
    ]


def upgrade():
    postgresql = op.get_bind().dialect.name == "postgresql"
    for column, table, token, where in SUMMARIES:
        op.add_column(
            "customers", sa.Column(column, sa.Text(), server_default=",", nullable=False)
        )
        summary = (_pg_summary if postgresql else _sqlite_summary)(
            table, token, where, "customers.id"
        )
        op.execute(
            f"UPDATE customers SET {column} = {summary} "
            f"WHERE id IN (SELECT customer_id FROM {table} WHERE {where})"
        )
        for statement in (_pg_triggers if postgresql else _sqlite_triggers)(
            column, table, token, where
        ):
            op.execute(statement)


def downgrade():
    postgresql = op.get_bind().dialect.name == "postgresql"
    for column, table, _token, _where in SUMMARIES:
        if postgresql:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_summary ON {table}")
            op.execute(f"DROP FUNCTION IF EXISTS assenso_{table}_summary()")
            op.execute(f"DROP FUNCTION IF EXISTS assenso_summarise_{table}(BIGINT)")
        else:
            for verb in ("insert", "delete", "update"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_summary_{verb}")
        # SQLite drops a column in place (3.35+); a batch copy of customers would cascade.
        op.execute(f"ALTER TABLE customers DROP COLUMN {column}")
