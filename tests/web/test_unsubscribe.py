"""One-click unsubscribe (RFC 8058), its landing page, and SMS STOP replies."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from sqlalchemy import select

from app.channels.errors import PermanentFailure, TransientFailure
from app.channels.sms import OutgoingSms, SmsGateway, is_stop_request
from app.delivery.tokens import unsubscribe_token
from app.ledger.models import ConsentEvent, ConsentState
from app.outbox.models import Suppression
from tests.integration.test_delivery_helpers import audience, relaxed_policies

SECRET = "inbound-secret-for-tests"


@pytest.fixture
def app(app_factory, tmp_path):
    """An app with the relaxed policy and an SMS inbound secret."""
    application = app_factory(
        POLICY_DIR=relaxed_policies(tmp_path / "p"), SMS_INBOUND_SECRET=SECRET
    )
    with application.app_context():
        yield application


def _customer(session, channel="email"):
    person = audience(session, 1, channel=channel)[0]
    return person.id, person.ref


def _state(session, customer_id, channel="email"):
    session.expire_all()
    return session.get(ConsentState, (customer_id, "offers", channel)).status


def test_one_click_post_needs_no_session_cookie_or_csrf(app, client, session):
    customer_id, ref = _customer(session())
    token = unsubscribe_token(ref, "offers", "email")
    client.delete_cookie("assenso_session")
    response = client.post(f"/u/{token}", data="List-Unsubscribe=One-Click",
                           content_type="application/x-www-form-urlencoded")  # fmt: skip
    assert response.status_code == 200
    assert (
        "Set-Cookie" not in response.headers
        or "assenso_session" not in response.headers["Set-Cookie"]
    )
    assert _state(session(), customer_id) == "withdrawn"
    events = session().scalars(select(ConsentEvent).where(ConsentEvent.customer_ref == ref)).all()
    assert [(e.action, e.source, e.method) for e in events][-1] == (
        "withdrawn",
        "one_click_unsubscribe",
        "one_click",
    )
    again = client.post(f"/u/{token}", data="List-Unsubscribe=One-Click")
    assert again.status_code == 200
    count = len(
        session().scalars(select(ConsentEvent).where(ConsentEvent.customer_ref == ref)).all()
    )
    assert count == len(events)  # idempotent: no second withdrawal event


def test_landing_page_has_one_button_and_a_preferences_link(app, client, session):
    _customer_id, ref = _customer(session())
    token = unsubscribe_token(ref, "offers", "email")
    page = client.get(f"/u/{token}").get_data(as_text=True)
    assert page.count("<button") == 1 and 'method="post"' in page
    # The way to finer choices needs no sign-in: the same signed token opens them.
    assert f'href="/me/refine/{token}"' in page
    assert client.get(f"/me/refine/{token}").status_code == 200


@pytest.mark.parametrize("token", ["nonsense", "a.b.c", "x" * 300])
def test_invalid_token_is_a_clear_400(client, token):
    for response in (client.get(f"/u/{token}"), client.post(f"/u/{token}")):
        assert response.status_code == 400
        assert "not valid" in response.get_data(as_text=True)


class _Provider(BaseHTTPRequestHandler):
    status = 202
    received: list = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Provider.received.append((dict(self.headers), json.loads(body)))
        self.send_response(_Provider.status)
        self.end_headers()

    def log_message(self, *args):
        return


@pytest.fixture
def provider():
    """A local HTTP server standing in for the SMS provider."""
    server = HTTPServer(("127.0.0.1", 0), _Provider)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Provider.received = []
    yield server
    server.shutdown()
    server.server_close()


def test_sms_webhook_posts_json_and_maps_errors(provider):
    gateway = SmsGateway(f"http://127.0.0.1:{provider.server_port}/send", timeout=2)
    _Provider.status = 202
    gateway.send(OutgoingSms("+393331234567", "Hi", "<m1@x>"))
    headers, body = _Provider.received[0]
    assert body == {"to": "+393331234567", "text": "Hi", "message_id": "<m1@x>"}
    assert headers["Idempotency-Key"] == "<m1@x>"
    _Provider.status = 503
    with pytest.raises(TransientFailure):
        gateway.send(OutgoingSms("+393331234567", "Hi", "<m2@x>"))
    _Provider.status = 400
    with pytest.raises(PermanentFailure) as refused:
        gateway.send(OutgoingSms("+393331234567", "Hi", "<m3@x>"))
    assert "+39" not in str(refused.value)


@pytest.mark.parametrize("text", ["STOP", "stop", "Arresta", "ARRÊT", "stop please"])
def test_stop_words(text):
    assert is_stop_request(text)


def test_sms_stop_reply_withdraws_and_suppresses(app, client, session):
    customer_id, ref = _customer(session(), channel="sms")
    payload = {
        "from": "+39333",
        "text": "ARRESTA",
        "token": unsubscribe_token(ref, "offers", "sms"),
    }
    assert client.post("/sms/inbound", json=payload).status_code == 403
    response = client.post("/sms/inbound", json=payload, headers={"X-Assenso-Sms-Secret": SECRET})
    assert response.status_code == 200 and response.get_json() == {"stopped": True}
    assert _state(session(), customer_id, "sms") == "withdrawn"
    stop = session().get(Suppression, (customer_id, "sms"))
    assert stop.reason == "sms_stop"
    bad = client.post("/sms/inbound", data="x", headers={"X-Assenso-Sms-Secret": SECRET})
    assert bad.status_code == 400


def test_pages_speak_the_browsers_language(app, client, session):
    """The unsubscribe page and the shared layout around it follow Accept-Language."""
    _customer_id, ref = _customer(session())
    token = unsubscribe_token(ref, "offers", "email")
    page = client.get(f"/u/{token}", headers={"Accept-Language": "it"}).get_data(as_text=True)
    assert '<html lang="it">' in page
    assert "Smettere di ricevere" in page and "Vai al contenuto" in page
    assert "Skip to content" not in page
