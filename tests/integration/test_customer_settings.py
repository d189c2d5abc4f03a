"""Account settings: one language and one time zone, held once on the account and changed by
one service."""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from app.customers.models import Customer
from app.delivery.recipients import load_recipients
from app.delivery.template_book import TemplateBook, TemplateView
from app.errors import Conflict, InvalidInput
from app.self_service.export import export_customer
from app.vault.models import ProfileField
from app.vault.service import update_field
from app.vault.settings import change_settings, settings_of
from tests.integration.builders import make_customer

TOKYO, NEW_YORK = "Asia/Tokyo", "America/New_York"


def _rows(session, model, field: str) -> int:
    return session.scalar(select(func.count()).where(model.field == field)) or 0


def test_language_and_time_zone_are_held_once_on_the_account(session):
    customer = make_customer(session, timezone=TOKYO, language="de")
    held = settings_of(customer)
    assert (held.language, held.timezone) == ("de", TOKYO)
    assert _rows(session, ProfileField, "timezone") == _rows(session, ProfileField, "language") == 0
    exported = export_customer(session, customer)
    assert exported["customer"]["timezone"] == TOKYO and exported["customer"]["language"] == "de"
    assert not {"timezone", "language"} & set(exported["profile"])
    with pytest.raises(InvalidInput, match="setting of the account"):
        update_field(session, customer, "language", "it", actor="officer", reason="asked")
    with pytest.raises(InvalidInput, match="unknown profile field"):
        update_field(session, customer, "timezone", TOKYO, actor="officer", reason="asked")


def test_changing_settings_validates_them_and_refuses_stale_forms(session):
    customer = make_customer(session)
    before = settings_of(customer)
    for bad in ("Mars/Olympus_Mons", "../../etc/passwd", " ", None, 42):
        with pytest.raises(InvalidInput, match="time zone"):
            change_settings(session, customer, replace(before, timezone=bad), before.version)
    for bad in ("tlh", "", "english", None):
        with pytest.raises(InvalidInput, match="languages"):
            change_settings(session, customer, replace(before, language=bad), before.version)
    wanted = replace(before, language="IT", timezone=f" {TOKYO} ")
    assert change_settings(session, customer, wanted, before.version)
    with pytest.raises(Conflict):
        change_settings(session, customer, replace(before, timezone=NEW_YORK), before.version)
    session.expire_all()
    stored = session.get(Customer, customer.id)
    assert (stored.language, stored.timezone) == ("it", TOKYO)
    same = settings_of(stored)
    assert change_settings(session, stored, same, same.version) is False


def test_a_message_may_print_the_language_held_on_the_account(session):
    customer = make_customer(session, language="it")
    view = TemplateView(1, "A", "en", "Hello", "Written in {{ language }}", None)
    book = TemplateBook(templates={(1, "A", "en"): view})
    entry = SimpleNamespace(
        id=7,
        customer_id=customer.id,
        campaign_id=1,
        run_id=None,
        variant="A",
        channel="email",
        purpose="offers",
    )
    recipient = load_recipients(session, [entry], book, actor="test")[entry.id]
    assert recipient.language == "it" and recipient.fields == {"language": "it"}
