"""Customers teach the offer choice through offer links and the portal, only with consent."""

from __future__ import annotations

import json
import re
import threading
from datetime import UTC, datetime
from email import message_from_bytes, policy

from sqlalchemy import select

from app.accounts.passwords import hash_password
from app.campaigns import service
from app.campaigns.run import start_run
from app.customers.models import Customer
from app.delivery.settings import worker_settings
from app.delivery.tokens import offer_token
from app.delivery.worker import DeliveryWorker
from app.extensions import db
from app.ledger import consent
from app.marketing.models import OfferHistory
from app.marketing.offer_service import OfferBook
from app.marketing.responses import taught
from app.outbox.models import OutboxEntry
from app.vault import service as vault
from tests.conftest import TEST_PASSWORD
from tests.helpers import csrf_token
from tests.integration.builders import grant, make_customer
from tests.integration.test_delivery_helpers import Sink, relaxed_policies
from tests.web.test_marketing_console import purchases, seed_people

WITH_OFFER = {"subject": "Hi", "body_text": "{{ offer }}: {{ offer_url }}"}


def _offer_entries(session, ids) -> dict[int, OutboxEntry]:
    campaign = service.create_campaign(
        session, actor="test", name="Picks", purpose="offers", channel="email",
        templates=[WITH_OFFER],
    )  # fmt: skip
    service.schedule_campaign(session, campaign.id, actor="test")
    start_run(session, campaign.id, datetime.now(UTC))
    rows = session.scalars(select(OutboxEntry).where(OutboxEntry.campaign_id == campaign.id))
    return {row.customer_id: row for row in rows if row.customer_id in ids}


def _affinity(session, customer_id: int) -> list[tuple]:
    """(offer, shown, clicked, more, less) as the offer choice counts them."""
    session.expire_all()
    offers = sorted(
        set(
            session.scalars(
                select(OfferHistory.offer_id).where(OfferHistory.customer_id == customer_id)
            )
        )
    )
    found = taught(session, [customer_id], {o: j for j, o in enumerate(offers)}, datetime.now(UTC))
    return [
        (o, *(int(m[0, j]) for m in (found.shown, found.clicked, found.more, found.less)))
        for j, o in enumerate(offers)
    ]


def test_a_click_is_kept_once_and_only_while_the_customer_allows_learning(client, session):
    ids = seed_people(session, count=2)
    entries = _offer_entries(session, ids)
    payload = json.loads(entries[ids[0]].payload_json)
    assert payload["offer_id"].startswith("category:") and payload["offer"].startswith("New in")
    offer_id = payload["offer_id"]
    assert _affinity(session, ids[0]) == [(offer_id, 1, 0, 0, 0)]  # counted as shown

    page = client.get(f"/o/{offer_token(entries[ids[0]].id)}")
    assert page.status_code == 200 and payload["offer"] in page.get_data(as_text=True)
    assert "Set-Cookie" not in page.headers
    client.get(f"/o/{offer_token(entries[ids[0]].id)}")  # a second click teaches nothing more
    assert _affinity(session, ids[0]) == [(offer_id, 1, 1, 0, 0)]
    history = session.scalars(select(OfferHistory).where(OfferHistory.customer_id == ids[0])).one()
    assert history.response == "click" and history.arm in ("model", "random")

    other = session.get(Customer, ids[1])
    consent.withdraw(session, other, purpose="recommendations", channel="email",
                     source="portal", method="web_form", actor="customer")  # fmt: skip
    assert client.get(f"/o/{offer_token(entries[ids[1]].id)}").status_code == 200
    assert all(clicked == 0 for _, _, clicked, _, _ in _affinity(session, ids[1]))
    first = session.scalars(select(OfferHistory).where(OfferHistory.customer_id == ids[0])).one()
    session.add(OfferHistory(customer_id=ids[1], offer_id=first.offer_id, response="more"))
    session.commit()  # an answer kept before the withdrawal
    OfferBook.load(session, reason="test")  # every choice first forgets what is not allowed
    assert all(more == 0 for _, _, _, more, _ in _affinity(session, ids[1]))
    assert _affinity(session, ids[0]) == [(offer_id, 1, 1, 0, 0)]

    assert client.get("/o/not-a-token").status_code == 400
    assert client.get(f"/o/{offer_token(2**40)}").status_code == 404


def _portal_customer(session, *, learning: bool):
    customer = make_customer(session, email=f"offers.{learning}@example.org",
                             password_hash=hash_password(TEST_PASSWORD),
                             profile={"purchase_history": purchases(3, "wine")})  # fmt: skip
    vault.set_sharing(session, customer, {("purchase_history", "recommendations"): True})
    grant(session, customer, "offers")
    grant(session, customer, "recommendations")
    OfferBook.load(session, reason="test").choose(session, [customer.id])
    session.commit()
    if not learning:
        consent.withdraw(session, customer, purpose="recommendations", channel="email",
                         source="portal", method="web_form", actor="customer")  # fmt: skip
    return customer


def test_more_or_less_like_this_in_the_portal(client, session, login):
    customer = _portal_customer(session, learning=True)
    row = session.scalars(select(OfferHistory).where(OfferHistory.customer_id == customer.id)).one()
    login("offers.True@example.org", staff=False)
    page = client.get("/me/offers").get_data(as_text=True)
    assert "New in" in page and "Less like this" in page
    token = csrf_token(client, "/me/offers")
    assert client.post(f"/me/offers/{row.id}/less", data={}).status_code == 400  # no CSRF token
    done = client.post(f"/me/offers/{row.id}/less", data={"csrf_token": token},
                       follow_redirects=True)  # fmt: skip
    assert "take this into account" in done.get_data(as_text=True)
    assert _affinity(session, customer.id) == [(row.offer_id, 1, 0, 0, 1)]
    assert client.post(f"/me/offers/{row.id}/more", data={"csrf_token": token},
                       follow_redirects=True).status_code == 200  # fmt: skip
    assert _affinity(session, customer.id) == [(row.offer_id, 1, 0, 0, 1)]  # answered once
    assert client.post("/me/offers/999999/more", data={"csrf_token": token}).status_code == 302
    assert client.post(f"/me/offers/{row.id}/maybe", data={"csrf_token": token}).status_code == 404


def test_without_consent_the_portal_keeps_no_answer(client, session, login):
    customer = _portal_customer(session, learning=False)
    row = session.scalars(select(OfferHistory).where(OfferHistory.customer_id == customer.id)).one()
    login("offers.False@example.org", staff=False)
    page = client.get("/me/offers").get_data(as_text=True)
    assert "Recommendations are switched off" in page and "Less like this" not in page
    token = csrf_token(client, "/me/offers")
    client.post(f"/me/offers/{row.id}/more", data={"csrf_token": token})
    session.expire_all()
    assert session.get(OfferHistory, row.id).response is None


def test_the_marketer_sees_the_learned_choice_against_chance(client, session, create_staff, login):
    ids = seed_people(session, count=2)
    now = datetime.now(UTC)
    rows = []
    for arm, offered, clicked, more, less in (("model", 100, 22, 8, 3), ("random", 100, 8, 2, 9)):
        answers = ["click"] * clicked + ["more"] * more + ["less"] * less
        answers += [None] * (offered - len(answers))
        rows += [
            OfferHistory(customer_id=ids[n % 2], offer_id=f"category:{('wine', 'books')[n % 2]}",
                         offered_at=now, arm=arm, response=answer)
            for n, answer in enumerate(answers)
        ]  # fmt: skip
    session.add_all(rows)
    session.commit()
    login(create_staff("marketer").email)
    page = client.get("/marketing/offers")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'id="arm-model-offered">100<' in html and 'id="arm-model-good">30<' in html
    assert 'id="arm-random-good">10<' in html
    assert "+20.0 points" in html and ", significant" in html
    assert "Zebulonia" not in html and "<td>wine</td>" in html


def test_the_delivered_message_carries_a_working_offer_link(app_factory, tmp_path):
    with Sink() as sink:
        app = app_factory(POLICY_DIR=relaxed_policies(tmp_path / "policies"),
                          SMTP_PORT=sink.port, MAIL_FROM="Shop <news@shop.example>",
                          PUBLIC_BASE_URL="https://shop.example")  # fmt: skip
        with app.app_context():
            ids = seed_people(db.session(), count=1)
            _offer_entries(db.session(), ids)
            worker = DeliveryWorker(app, worker_settings(app))
            assert worker.run(threading.Event(), once=True).sent == 1
            body = message_from_bytes(sink.messages[0], policy=policy.default)
            text = body.get_body(("plain",)).get_content()
            link = re.search(r"https://shop\.example(/o/\S+)", text)
            assert link is not None and "New in" in text
            assert app.test_client().get(link.group(1)).status_code == 200
            clicked = db.session.scalars(
                select(OfferHistory.response).where(OfferHistory.customer_id == ids[0])
            ).one()
            assert clicked == "click"
