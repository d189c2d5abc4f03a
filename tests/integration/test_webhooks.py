"""Webhooks: signed per Standard Webhooks (checked by an independent receiver), at least once,
in order per customer, retried after the receiver fails, disabled after repeated failure."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select

from app.integrations.ledger_feed import fan_out_ledger
from app.integrations.sealing import prepare
from app.integrations.subscriptions import create_subscription, replay
from app.ledger import consent
from app.settings import current_settings
from app.webhooks.delivery import Policy, deliver_due
from app.webhooks.models import WebhookMessage
from tests.integration.builders import grant, make_customer


class Receiver:
    """A webhook receiver written from the specification alone: it checks each signature
    with hmac and base64, and answers ``fail`` times 500 before it accepts."""

    def __init__(self) -> None:
        self.secret = ""
        self.fail = 0
        self.received: list[dict] = []
        self.bad_signatures = 0
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                msg_id = self.headers["webhook-id"]
                stamp = self.headers["webhook-timestamp"]
                key = base64.b64decode(owner.secret.removeprefix("whsec_"))
                signed = f"{msg_id}.{stamp}.".encode() + body
                expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest())
                given = [p.split(",", 1)[1] for p in self.headers["webhook-signature"].split()]
                if expected.decode() not in given:
                    owner.bad_signatures += 1
                if owner.fail > 0:
                    owner.fail -= 1
                    self.send_response(500)
                else:
                    owner.received.append({"id": msg_id, **json.loads(body)})
                    self.send_response(204)
                self.end_headers()

            def log_message(self, *_args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    found = Receiver()
    yield found
    found.close()


POLICY = Policy(max_attempts=5, retry_base_seconds=0.0001, disable_after=4, timeout_seconds=5)


@pytest.fixture(autouse=True)
def _no_commit_margin(monkeypatch):
    """Appends in these tests are committed before the ledger is read."""
    monkeypatch.setattr("app.webhooks.delivery.COMMIT_MARGIN", timedelta(0))


def _subscribe(session, receiver, types=("consent.granted", "consent.withdrawn")):
    fan_out_ledger(session)  # the cursor starts at the ledger's end
    subscription, receiver.secret = create_subscription(
        session, url=receiver.url, event_types=list(types), created_by="test"
    )
    return subscription


def _pump(session, rounds=10):
    for _ in range(rounds):
        fan_out_ledger(session)
        deliver_due(session, POLICY, prepare)


def test_consent_events_arrive_signed_in_order_without_personal_data(session, receiver):
    _subscribe(session, receiver)
    customer = make_customer(session, email="hook@example.org")
    grant(session, customer)
    consent.withdraw(
        session, customer, purpose="offers", channel="email", source="api", method="api", actor="t"
    )
    _pump(session)
    assert [r["type"] for r in receiver.received] == ["consent.granted", "consent.withdrawn"]
    assert receiver.bad_signatures == 0
    data = receiver.received[1]["data"]
    assert data["customer_id"] == customer.ref
    assert data["purpose"] == "offers" and data["record_id"]
    assert "hook@example.org" not in json.dumps(receiver.received)


def test_a_failing_receiver_gets_the_same_message_again_and_order_holds(session, receiver):
    _subscribe(session, receiver)
    customer = make_customer(session)
    grant(session, customer)
    consent.withdraw(
        session, customer, purpose="offers", channel="email", source="api", method="api", actor="t"
    )
    receiver.fail = 2
    fan_out_ledger(session)
    deliver_due(session, POLICY, prepare)
    assert receiver.received == []  # the withdrawal waits behind the failed grant
    _pump(session)
    assert [r["type"] for r in receiver.received] == ["consent.granted", "consent.withdrawn"]
    first = session.scalars(select(WebhookMessage).order_by(WebhookMessage.id)).first()
    assert first.attempts == 3 and first.status == "delivered"
    assert receiver.received[0]["id"] == first.msg_id


def test_a_subscription_that_keeps_failing_is_disabled_and_a_message_can_be_replayed(
    session, receiver
):
    subscription = _subscribe(session, receiver)
    grant(session, make_customer(session))
    receiver.fail = 100
    _pump(session)
    session.refresh(subscription)
    assert subscription.active is False
    assert "failed attempts" in subscription.disabled_reason
    receiver.fail = 0
    from app.integrations.subscriptions import set_active

    set_active(session, subscription.id, True)
    message = session.scalars(select(WebhookMessage)).one()
    if message.status != "pending":
        replay(session, subscription.id, message.id)
    _pump(session)
    assert [r["type"] for r in receiver.received] == ["consent.granted"]


def test_requests_and_erasure_are_reported(session, receiver, app):
    from app.compliance.requests import file_request
    from app.vault.erasure import erase_customer

    _subscribe(session, receiver, types=("request.created", "customer.erased"))
    customer = make_customer(session)
    file_request(session, customer, "export", channel="api", actor="t")
    erase_customer(session, customer, actor="t", reason="asked")
    _pump(session)
    assert [r["type"] for r in receiver.received] == ["request.created", "customer.erased"]
    assert current_settings(app).webhook_max_attempts >= 1


def test_expiry_objection_and_preference_changes_are_reported(session, receiver):
    from datetime import timedelta

    from app.models_base import utcnow
    from app.vault.service import set_sharing

    _subscribe(
        session,
        receiver,
        types=("consent.expired", "customer.objected", "preferences.changed"),
    )
    customer = make_customer(session)
    grant(session, customer)
    consent.expire_due(session, now=utcnow() + timedelta(days=3650))
    consent.object_to_direct_marketing(session, customer, source="api", method="api", actor="t")
    set_sharing(session, customer, {("city", "offers"): True})
    _pump(session)
    kinds = [r["type"] for r in receiver.received]
    assert kinds == ["consent.expired", "customer.objected", "preferences.changed"]
    assert receiver.received[2]["data"] == {"customer_id": customer.ref, "changed": ["sharing"]}
