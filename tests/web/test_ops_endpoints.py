"""``/metrics`` and ``/readyz``: what they report, and who may read them."""

from __future__ import annotations

import re
import shutil
from datetime import timedelta

import pytest
from sqlalchemy import text, update

from app.campaigns import service
from app.campaigns.run import start_run
from app.extensions import db
from app.integrations.subscriptions import create_subscription
from app.ledger.verify import record_verification, verify_ledger
from app.models_base import utcnow
from app.observability import metrics
from app.outbox.models import OutboxEntry
from app.transaction import transaction
from app.vault.models import KeystoreBinding
from app.webhooks.models import WebhookMessage
from app.webhooks.outbox import enqueue
from tests.integration.test_delivery_helpers import audience

TOKEN = "a-token-of-the-operator-0123456789"
NOON = (utcnow() + timedelta(days=1)).replace(hour=12, minute=0, second=0, microsecond=0)


def sample(exposition: str, name: str, **labels: str) -> float | None:
    """The value of the sample ``name{labels}`` in a text exposition, or None."""
    for line in exposition.splitlines():
        metric, _, value = line.rpartition(" ")
        found_name, _, rest = metric.partition("{")
        found = dict(re.findall(r'(\w+)="([^"]*)"', rest))
        if found_name == name and found == labels:
            return float(value)
    return None


def test_readiness_passes_every_check_on_a_migrated_database(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json == {
        "status": "ready",
        "checks": {"database": "ok", "keystore": "ok", "policy": "ok", "migrations": "ok"},
    }
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["X-Request-Id"])


def test_readiness_names_migrations_behind_the_code(client, session):
    head = session.scalar(text("SELECT version_num FROM alembic_version"))
    with transaction(session):
        session.execute(text("UPDATE alembic_version SET version_num = '0001_initial'"))
    try:
        response = client.get("/readyz")
    finally:  # the PostgreSQL schema is migrated once for every test
        with transaction(session):
            session.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": head})
    assert response.status_code == 503
    assert response.json["failed"] == ["migrations"]
    assert response.json["checks"]["database"] == "ok"


def test_readiness_names_a_key_store_of_another_database(client, app):
    with app.app_context(), transaction(db.session):
        db.session.execute(update(KeystoreBinding).values(database_identity="someone-else"))
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json["failed"] == ["keystore"]


def test_readiness_names_an_unreachable_database(app_factory, database_url, tmp_path):
    if not database_url.startswith("sqlite"):
        pytest.skip("the database file is taken away from under a SQLite application")
    folder = tmp_path / "gone"
    folder.mkdir()
    shutil.copyfile(database_url.removeprefix("sqlite:///"), folder / "db.sqlite3")
    app = app_factory(DATABASE_URL=f"sqlite:///{folder / 'db.sqlite3'}")
    with app.app_context():
        db.engine.dispose()
    shutil.rmtree(folder)
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert "database" in response.json["failed"]


@pytest.mark.parametrize("path", ["/metrics", "/readyz"])
def test_other_networks_are_refused(client, path):
    assert client.get(path, environ_base={"REMOTE_ADDR": "203.0.113.9"}).status_code == 403
    assert client.get(path).status_code in (200, 503)  # the test client is 127.0.0.1


def test_an_allowed_network_and_the_bearer_token_open_them(app_factory):
    app = app_factory(OPS_NETWORKS="10.0.0.0/8", OPS_TOKEN=TOKEN)
    client = app.test_client()
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "10.2.3.4"}).status_code == 200
    assert client.get("/metrics").status_code == 403  # loopback is no longer listed
    outside = {"REMOTE_ADDR": "203.0.113.9"}
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    assert client.get("/metrics", environ_base=outside, headers=bearer).status_code == 200
    wrong = {"Authorization": f"Bearer {TOKEN}x"}
    assert client.get("/metrics", environ_base=outside, headers=wrong).status_code == 403


def test_the_client_address_comes_from_trusted_proxies_only(app_factory):
    forged = {"X-Forwarded-For": "127.0.0.1"}
    outside = {"REMOTE_ADDR": "203.0.113.9"}
    untrusting = app_factory().test_client()
    assert untrusting.get("/metrics", environ_base=outside, headers=forged).status_code == 403
    behind_proxy = app_factory(TRUSTED_PROXY_HOPS=1).test_client()
    proxy = {"REMOTE_ADDR": "127.0.0.1"}
    client = {"X-Forwarded-For": "203.0.113.9"}
    assert behind_proxy.get("/metrics", environ_base=proxy, headers=client).status_code == 403
    assert behind_proxy.get("/metrics", environ_base=proxy, headers=forged).status_code == 200


def test_metrics_report_decisions_messages_outbox_and_ledger(client, session):
    audience(session, 3)
    campaign = service.create_campaign(
        session, actor="marketer", name="Sale", purpose="offers", channel="email",
        templates=[{"subject": "Hi", "body_text": "Dear {{ first_name }}"}],
    )  # fmt: skip
    campaign = service.schedule_campaign(session, campaign.id, actor="marketer")
    start_run(session, campaign, NOON)
    with transaction(session):
        session.execute(update(OutboxEntry).values(not_before=utcnow() - timedelta(minutes=5)))
    record_verification(session, verify_ledger(session), actor="test")

    body = client.get("/metrics").get_data(as_text=True)
    assert sample(body, "assenso_database_up") == 1
    decided = {
        (outcome, rule): sample(body, "assenso_decisions", outcome=outcome, rule=rule)
        for outcome, rule in re.findall(r'assenso_decisions\{outcome="(\w+)",rule="(\w+)"', body)
    }
    assert sum(decided.values()) == 3
    assert sample(body, "assenso_messages", state="pending", channel="email") == 3
    assert sample(body, "assenso_outbox_depth") == 3
    assert 290 < sample(body, "assenso_outbox_oldest_age_seconds") < 400
    assert sample(body, "assenso_ledger_entries") >= 3  # a consent event per customer
    assert sample(body, "assenso_ledger_last_verification_ok") == 1
    assert "# TYPE assenso_webhook_backlog gauge" in body
    assert sample(body, "assenso_webhook_backlog", source="partners") is None


def test_a_registered_webhook_outbox_reports_its_backlog(client, monkeypatch):
    monkeypatch.setattr(metrics, "_WEBHOOK_BACKLOGS", {})
    metrics.register_webhook_backlog("partners", lambda session: 7)
    body = client.get("/metrics").get_data(as_text=True)
    assert sample(body, "assenso_webhook_backlog", source="partners") == 7


def test_the_webhook_outbox_reports_the_messages_not_yet_delivered(client, app):
    def backlog() -> float | None:
        body = client.get("/metrics").get_data(as_text=True)
        return sample(body, "assenso_webhook_backlog", source="subscriptions")

    assert backlog() == 0
    session = db.session
    create_subscription(
        session,
        url="https://hooks.example.com/assenso",
        event_types=["customer.erased", "request.created"],
        created_by="test",
    )
    with transaction(session):
        enqueue(session, "customer.erased", "c-1", {})
        enqueue(session, "request.created", "c-2", {"request_id": 1})
        enqueue(session, "consent.granted", "c-3", {})  # nobody subscribed to it
    assert backlog() == 2
    with transaction(session):
        session.execute(
            update(WebhookMessage)
            .where(WebhookMessage.customer_ref == "c-1")
            .values(status="delivered", delivered_at=utcnow())
        )
    assert backlog() == 1


def test_failed_sign_ins_are_counted(client):
    def failures() -> float:
        body = client.get("/metrics").get_data(as_text=True)
        return (
            sample(body, "assenso_sign_in_failures_total", audience="customer", reason="refused")
            or 0
        )

    before = failures()
    client.post("/login", data={"email": "ann@example.com", "password": "wrong"})
    assert failures() == before + 1
