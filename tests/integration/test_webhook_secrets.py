"""Webhook secrets at rest, the integrator's reference in payloads, and key rotation: the
signing secret is sealed under the vault's master keys, payloads name the customer by the
integrator's reference beside the pseudonymous id and carry no profile value, erasure still
announces the reference, and a rotated key ring keeps deliveries signed."""

from __future__ import annotations

import base64
import dataclasses
import json
import os
from datetime import timedelta

import pytest
from sqlalchemy import select, text

from app.customers.models import Customer
from app.extensions import db
from app.integrations.ledger_feed import fan_out_ledger
from app.integrations.sealing import prepare, reseal_all
from app.integrations.subscriptions import create_subscription
from app.runtime import EXTENSION_KEY, runtime
from app.vault.erasure import erase_customer
from app.vault.rotation import rotate_kek
from app.vault.service import set_sharing
from app.web.api.webhook_events import WebhookEvent
from app.webhooks.delivery import deliver_due
from app.webhooks.models import WebhookMessage
from tests.integration.builders import PROFILE, grant, make_customer
from tests.integration.test_webhooks import POLICY, Receiver

ALL = ("consent.granted", "customer.erased", "preferences.changed")


@pytest.fixture
def receiver():
    found = Receiver()
    yield found
    found.close()


@pytest.fixture(autouse=True)
def _no_commit_margin(monkeypatch):
    monkeypatch.setattr("app.webhooks.delivery.COMMIT_MARGIN", timedelta(0))


def _subscribe(session, receiver, types=ALL):
    fan_out_ledger(session)
    subscription, receiver.secret = create_subscription(
        session, url=receiver.url, event_types=list(types), created_by="test"
    )
    return subscription


def _pump(session, rounds=6):
    for _ in range(rounds):
        fan_out_ledger(session)
        deliver_due(session, POLICY, prepare)


def _raw_rows(table: str) -> str:
    with db.engine.connect() as connection:
        rows = connection.execute(text(f"SELECT * FROM {table}")).all()
    return repr([tuple(row) for row in rows])


def test_the_database_holds_no_secret_and_signatures_still_verify(session, receiver):
    subscription = _subscribe(session, receiver)
    key_bytes = base64.b64decode(receiver.secret.removeprefix("whsec_"))
    raw = _raw_rows("webhook_subscriptions")
    assert receiver.secret not in raw
    assert key_bytes not in subscription.secret_sealed
    assert receiver.secret.removeprefix("whsec_") not in raw
    grant(session, make_customer(session))
    _pump(session)
    assert [r["type"] for r in receiver.received] == ["consent.granted"]
    assert receiver.bad_signatures == 0


def test_a_secret_moved_to_another_url_is_not_used(session, receiver):
    subscription = _subscribe(session, receiver)
    grant(session, make_customer(session))
    with db.engine.begin() as connection:
        connection.execute(
            text("UPDATE webhook_subscriptions SET url = :url WHERE id = :id"),
            {"url": receiver.url + "?elsewhere", "id": subscription.id},
        )
    _pump(session, rounds=2)
    assert receiver.received == []
    message = session.scalars(select(WebhookMessage)).one()
    assert message.status == "pending" and message.attempts >= 1


def test_payloads_carry_the_reference_and_no_profile_value(session, receiver):
    _subscribe(session, receiver)
    customer = make_customer(session, email="ref@example.org", reference="crm-0042")
    other = make_customer(session)  # made without a reference
    grant(session, customer)
    grant(session, other)
    _pump(session)
    by_customer = {r["data"]["customer_id"]: r["data"] for r in receiver.received}
    assert by_customer[customer.ref]["reference"] == "crm-0042"
    assert list(by_customer[customer.ref])[:2] == ["customer_id", "reference"]
    assert "reference" not in by_customer[other.ref]
    for event in receiver.received:
        WebhookEvent.model_validate({k: v for k, v in event.items() if k != "id"})
    sent = json.dumps(receiver.received)
    assert "ref@example.org" not in sent
    assert not any(value in sent for value in PROFILE.values())
    assert "crm-0042" not in _raw_rows("webhook_messages")
    assert "crm-0042" not in _raw_rows("customers")
    assert receiver.bad_signatures == 0


def test_erasure_is_announced_with_the_reference_and_shreds_it(session, receiver):
    _subscribe(session, receiver)
    customer = make_customer(session, reference="crm-0099")
    grant(session, customer)
    fan_out_ledger(session)  # the grant is a message not sent yet when the erasure comes
    erase_customer(session, customer, actor="t", reason="asked")
    _pump(session)
    assert [r["type"] for r in receiver.received] == ["consent.granted", "customer.erased"]
    for event in receiver.received:
        assert event["data"]["customer_id"] == customer.ref
        assert event["data"]["reference"] == "crm-0099"
    row = session.scalar(select(Customer).where(Customer.id == customer.id))
    assert row.reference_sealed is None and row.erased_at is not None
    assert "crm-0099" not in _raw_rows("webhook_messages") + _raw_rows("customers")


def _with_vault_keys(app, keyring) -> None:
    app.extensions[EXTENSION_KEY] = dataclasses.replace(runtime(app), vault_keys=keyring)


def test_deliveries_keep_working_across_a_master_key_rotation(session, receiver, app):
    _subscribe(session, receiver)
    customer = make_customer(session, reference="crm-0007")
    grant(session, customer)
    _pump(session)
    old = runtime(app).vault_keys
    newer = old.with_key(max(old.versions) + 1, os.urandom(32))
    _with_vault_keys(app, newer)
    rotate_kek(session)
    assert reseal_all(session) >= 1
    _with_vault_keys(app, newer.retire(old.active_version))
    set_sharing(session, customer, {("city", "offers"): True})
    _pump(session)
    assert [r["type"] for r in receiver.received] == ["consent.granted", "preferences.changed"]
    assert receiver.received[1]["data"]["reference"] == "crm-0007"
    assert receiver.bad_signatures == 0
