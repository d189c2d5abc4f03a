"""End to end on SQLite and PostgreSQL: outbox → worker → a real local SMTP server."""

from __future__ import annotations

import threading
from email import message_from_bytes, policy

import pytest
from sqlalchemy import func, select

from app.delivery.settings import worker_settings
from app.delivery.worker import DeliveryWorker
from app.ledger import consent
from app.outbox.models import OutboxEntry, SendLog, Suppression
from app.vault.models import VaultAccess
from tests.integration.test_delivery_helpers import (
    Sink,
    audience,
    campaign_outbox,
    relaxed_policies,
)


@pytest.fixture
def mail_app(app_factory, tmp_path):
    """Build an app whose SMTP relay is ``sink``, with the relaxed test policy."""

    def build(sink: Sink):
        application = app_factory(
            POLICY_DIR=relaxed_policies(tmp_path / "policies"),
            SMTP_PORT=sink.port,
            MAIL_FROM="Shop <news@shop.example>",
            PUBLIC_BASE_URL="https://shop.example",
        )
        return application

    return build


def run_worker(app, **overrides):
    with app.app_context():
        worker = DeliveryWorker(app, worker_settings(app, **overrides))
        return worker.run(threading.Event(), once=True)


def statuses(app):
    from app.extensions import db

    with app.app_context():
        rows = db.session.execute(
            select(OutboxEntry.status, func.count()).group_by(OutboxEntry.status)
        )
        return dict(rows.all())


def test_messages_arrive_with_rfc8058_headers_and_reason(mail_app):
    with Sink() as sink:
        app = mail_app(sink)
        from app.extensions import db

        with app.app_context():
            people = audience(db.session(), 3)
            campaign_outbox(db.session(), [p.id for p in people])
        total = run_worker(app)
        assert total.sent == 3
        assert len(sink.messages) == 3
        first = message_from_bytes(sink.messages[0], policy=policy.default)
        unsubscribe = first["List-Unsubscribe"]
        assert unsubscribe.startswith("<https://shop.example/u/")
        assert "<mailto:unsubscribe+" in unsubscribe and "@shop.example>" in unsubscribe
        assert first["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert first["Subject"].startswith("Hello Ann")
        body = first.get_body(("plain",)).get_content()
        assert "You receive this because you agreed on" in body
        assert "Unsubscribe with one click: https://shop.example/u/" in body
        ids = sink.message_ids()
        assert len(set(ids)) == 3
        with app.app_context():
            stored = set(db.session.scalars(select(OutboxEntry.message_id)))
            assert stored == set(ids)
            assert db.session.scalar(select(func.count()).select_from(SendLog)) == 3
            access = db.session.scalars(select(VaultAccess)).all()
            assert [(a.purpose, a.customer_count) for a in access] == [("offers", 3)]
        assert statuses(app) == {"sent": 3}
        assert run_worker(app).claimed == 0  # nothing sent twice


def test_withdrawal_before_claim_means_no_message(mail_app):
    with Sink() as sink:
        app = mail_app(sink)
        from app.extensions import db

        with app.app_context():
            people = audience(db.session(), 2)
            withdrawn = people[0].id
            campaign_outbox(db.session(), [p.id for p in people])
            consent.withdraw(
                db.session(),
                people[0],
                purpose="offers",
                channel="email",
                source="portal",
                method="web_form",
                actor="customer",
            )
        run_worker(app)
        assert len(sink.messages) == 1
        assert b"Ann1" in sink.messages[0]
        with app.app_context():
            denied = db.session.scalar(select(OutboxEntry).where(OutboxEntry.status == "denied"))
            assert denied.customer_id == withdrawn and denied.decision_rule
            assert denied.message_id is None


def test_refused_recipient_is_suppressed_as_bounce(mail_app):
    with Sink(refuse={"person0@example.org"}) as sink:
        app = mail_app(sink)
        from app.extensions import db

        with app.app_context():
            people = audience(db.session(), 2)
            bounced = people[0].id
            campaign_outbox(db.session(), [p.id for p in people])
        run_worker(app)
        assert statuses(app) == {"sent": 1, "failed": 1}
        with app.app_context():
            bounce = db.session.scalar(select(Suppression))
            assert (bounce.customer_id, bounce.channel, bounce.reason) == (
                bounced,
                "email",
                "bounce",
            )


def test_unreachable_relay_retries_with_backoff(app_factory, tmp_path):
    from tests.integration.test_delivery_helpers import free_port

    app = app_factory(POLICY_DIR=relaxed_policies(tmp_path / "p"), SMTP_PORT=free_port())
    from app.extensions import db

    with app.app_context():
        people = audience(db.session(), 1)
        campaign_outbox(db.session(), [people[0].id])
    run_worker(app)
    with app.app_context():
        entry = db.session.scalar(select(OutboxEntry))
        assert entry.status == "pending" and entry.attempts == 1 and entry.message_id is None
        assert entry.not_before > entry.created_at
        assert "unreachable" in entry.last_error


def test_connection_cut_inside_data_is_retried_never_recorded_as_sent(mail_app):
    # The relay closes the connection after the final dot without a reply: no 250, not sent.
    with Sink(cut=1) as sink:
        app = mail_app(sink)
        from app.extensions import db

        with app.app_context():
            people = audience(db.session(), 1)
            campaign_outbox(db.session(), [people[0].id])
        first = run_worker(app)
        assert (first.sent, first.retried) == (0, 1)
        assert sink.messages == []
        with app.app_context():
            entry = db.session.scalar(select(OutboxEntry))
            assert entry.status == "pending" and entry.message_id is None
            assert entry.sent_at is None and entry.not_before > entry.created_at
            assert "connection lost before the relay accepted" in entry.last_error
            assert db.session.scalar(select(func.count()).select_from(SendLog)) == 0
            entry.not_before = entry.created_at  # the retry is due
            db.session.commit()
        assert run_worker(app).sent == 1
        assert len(sink.messages) == 1
        assert statuses(app) == {"sent": 1}


def test_pooled_connections_keep_synchronous_commits_after_a_batch(mail_app, engine_name):
    # Markers may commit asynchronously; nothing else that reuses the connection may.
    if engine_name != "postgresql":
        pytest.skip("synchronous_commit is a PostgreSQL setting")
    from sqlalchemy import text

    with Sink() as sink:
        app = mail_app(sink)
        from app.extensions import db

        with app.app_context():
            people = audience(db.session(), 2)
            campaign_outbox(db.session(), [p.id for p in people])
        assert run_worker(app).sent == 2
        with app.app_context():
            db.session.remove()
            idle = db.engine.pool.checkedin()
            assert idle >= 1
            connections = [db.engine.connect() for _ in range(idle)]
            try:
                found = {c.scalar(text("SHOW synchronous_commit")) for c in connections}
            finally:
                for connection in connections:
                    connection.close()
    assert found == {"on"}
