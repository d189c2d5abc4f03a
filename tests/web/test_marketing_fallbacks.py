"""Template fallbacks: customers who do not share a field with a fallback are eligible and
receive the fallback — in the forecast, the run, the send-time re-check and the message."""

from __future__ import annotations

import re
import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from app.campaigns.run import run_if_due
from app.customers.models import Customer
from app.delivery.settings import worker_settings
from app.delivery.worker import DeliveryWorker
from app.outbox.models import OutboxEntry
from app.vault import service as vault
from app.vault.models import VaultAccess
from tests.helpers import CSRF_RE, csrf_token
from tests.web.test_marketing_console import create, seed_people

GREETING = "Hello {{ first_name|default('there') }}"


@pytest.fixture
def mailbox(tmp_path):
    """A development mailbox (local SMTP server storing what it receives)."""
    from app.channels.devmailbox import MailboxStore, start_mailbox_server
    from tests.web.test_portal_support import free_port

    store = MailboxStore(tmp_path / "mailbox")
    port = free_port()
    controller = start_mailbox_server(store, "127.0.0.1", port)
    yield store, port
    controller.stop()


@pytest.fixture
def app(app_factory, mailbox):
    """The application relaying mail to the development mailbox."""
    store, port = mailbox
    application = app_factory(SMTP_PORT=port, DEV_MAILBOX_DIR=str(store.folder))
    with application.app_context():
        yield application


@pytest.fixture
def marketer(client, create_staff, login):
    user = create_staff("marketer")
    login(user.email)
    return user


def unshare_first_name(session, customer_ids) -> None:
    for customer_id in customer_ids:
        customer = session.get(Customer, customer_id)
        vault.set_sharing(session, customer, {("first_name", "offers"): False})


def schedule(client, campaign_id: int) -> None:
    page = client.get(f"/marketing/campaigns/{campaign_id}").get_data(as_text=True)
    match = CSRF_RE.search(page)
    response = client.post(
        f"/marketing/campaigns/{campaign_id}/schedule",
        data={"csrf_token": match.group(1) or match.group(2), "version": "1"},
    )
    assert response.status_code == 302


def test_customers_without_the_field_are_forecast_sent_and_shown_the_fallback(
    app, client, session, marketer, mailbox
):
    store, _ = mailbox
    ids = seed_people(session, count=4)
    unshare_first_name(session, ids[:2])
    campaign_id = create(
        client, subject_a=GREETING, body_text_a=GREETING + ", from {{ city }}. {{ offer }}"
    )

    forecast = client.get(f"/marketing/campaigns/{campaign_id}/forecast").get_data(as_text=True)
    assert re.search(r'id="forecast-eligible">4<', forecast)
    assert re.search(r'id="forecast-personalised">2<', forecast)
    assert re.search(r'id="forecast-fallback">2<', forecast)
    assert "first_name with a fallback" in forecast

    schedule(client, campaign_id)
    run = run_if_due(session, campaign_id, datetime.now(UTC))
    assert run.allowed + run.deferred == 4 and run.denied == 0
    DeliveryWorker(app, worker_settings(app)).run(threading.Event(), once=True)
    assert sorted(m.subject for m in store.summaries()) == [
        "Hello Zebulonia",
        "Hello Zebulonia",
        "Hello there",
        "Hello there",
    ]
    statuses = session.scalars(select(OutboxEntry.status)).all()
    assert statuses == ["sent"] * 4


def test_a_field_without_fallback_still_excludes_who_does_not_share_it(
    app, client, session, marketer
):
    ids = seed_people(session, count=4)
    unshare_first_name(session, ids[:1])
    campaign_id = create(client, subject_a="Hello {{ first_name }}", body_text_a="Hi {{ city }}")
    forecast = client.get(f"/marketing/campaigns/{campaign_id}/forecast").get_data(as_text=True)
    assert re.search(r'id="forecast-eligible">3<', forecast)
    assert "forecast-personalised" not in forecast


def test_one_bare_use_makes_the_field_required(app, client, session, marketer):
    ids = seed_people(session, count=3)
    unshare_first_name(session, ids[:1])
    campaign_id = create(
        client, subject_a=GREETING, body_text_a="Dear {{ first_name }}. {{ offer }}"
    )
    forecast = client.get(f"/marketing/campaigns/{campaign_id}/forecast").get_data(as_text=True)
    assert re.search(r'id="forecast-eligible">2<', forecast)


def test_a_fallback_does_not_open_a_field_the_purpose_does_not_allow(app, client, marketer):
    token = csrf_token(client, "/marketing/campaigns/new")
    response = client.post(
        "/marketing/campaigns/new",
        data={
            "csrf_token": token,
            **_form(body_text_a="Born {{ birthday|default('some day') }}"),
            "preview": "Preview",
        },
    )
    page = response.get_data(as_text=True)
    assert "Template field &#39;birthday&#39; is not allowed for purpose &#39;offers&#39;" in page


def test_the_preview_shows_the_message_with_its_fallback(app, client, marketer):
    token = csrf_token(client, "/marketing/campaigns/new")
    response = client.post(
        "/marketing/campaigns/new",
        data={
            "csrf_token": token,
            **_form(subject_a=GREETING, body_text_a="{{ offer }}"),
            "preview": "Preview",
        },
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Hello Alex" in page and "Hello there" in page
    assert "do not share first_name for this purpose" in page


def test_the_access_log_names_the_field_only_for_the_customers_who_share_it(
    app, client, session, marketer
):
    ids = seed_people(session, count=2)
    unshare_first_name(session, ids)
    campaign_id = create(client, subject_a=GREETING, body_text_a="Hi {{ city }}. {{ offer }}")
    schedule(client, campaign_id)
    run_if_due(session, campaign_id, datetime.now(UTC))
    DeliveryWorker(app, worker_settings(app)).run(threading.Event(), once=True)
    logged = session.scalars(
        select(VaultAccess.fields).where(VaultAccess.reason == "message delivery")
    ).all()
    assert logged and all("first_name" not in fields.split(",") for fields in logged)


def _form(**overrides) -> dict:
    from tests.web.test_marketing_console import campaign_form

    return campaign_form(**overrides)


def test_a_value_rendered_then_unshared_is_refused_at_hand_over(app, session):
    from types import SimpleNamespace

    from app.delivery.recheck import recheck
    from app.delivery.template_book import TemplateBook, TemplateView

    ids = seed_people(session, count=1)
    unshare_first_name(session, ids)
    book = TemplateBook()
    book.templates[(7, "A", "en")] = TemplateView(1, "A", "en", GREETING, "{{ offer }}", None)
    entry = SimpleNamespace(
        id=1, customer_id=ids[0], purpose="offers", channel="email", campaign_id=7, variant="A"
    )
    now = datetime.now(UTC)
    assert recheck(session, [entry], book, now)[1].outcome != "deny"
    refused = recheck(session, [entry], book, now, {1: frozenset({"first_name"})})[1]
    assert (refused.outcome, refused.rule_id) == ("deny", "data_minimisation")
