"""Account settings: one language and one time zone, changed by one service; profile copies of
older releases moved onto the account."""

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
from app.vault.erasure import erase_customer
from app.vault.models import CustomerKey, ProfileField, ProfileFieldHistory, SharingChoice
from app.vault.service import open_cipher, update_field
from app.vault.settings import change_settings, settings_of
from tests.integration.builders import make_customer

TOKYO, NEW_YORK = "Asia/Tokyo", "America/New_York"


def _legacy_copy(session, customer: Customer, field: str, value: str, history: str = "") -> None:
    """A setting kept in the profile the way older releases kept it (encrypted, shareable)."""
    cipher = open_cipher(session, customer)
    owner = {"customer_id": customer.id, "field": field}
    session.add(ProfileField(**owner, ciphertext=cipher.encrypt(field, value)))
    if history:
        sealed = cipher.encrypt(field, history)
        session.add(ProfileFieldHistory(**owner, ciphertext=sealed, actor="customer"))
    session.add(SharingChoice(**owner, purpose="offers", shared=True))
    session.commit()


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


def test_move_settings_applies_profile_copies_then_deletes_them(session, runner):
    moved = make_customer(session)
    _legacy_copy(session, moved, "timezone", TOKYO, history="Europe/Paris")
    _legacy_copy(session, moved, "language", "fr", history="en")
    same = make_customer(session, timezone=NEW_YORK)
    _legacy_copy(session, same, "timezone", NEW_YORK)
    _legacy_copy(session, same, "language", "en")
    invalid = make_customer(session)
    _legacy_copy(session, invalid, "timezone", "Mars/Olympus_Mons")
    erased = make_customer(session)
    erase_customer(session, erased, actor="customer", reason="test")
    session.add(ProfileField(customer_id=erased.id, field="timezone", ciphertext=b"\x00junk"))
    session.commit()
    assert "6 (needs move-settings)" in runner.invoke(args=["vault", "status"]).output

    result = runner.invoke(args=["vault", "move-settings", "--batch-size", "1"])
    assert result.exit_code == 0, result.output
    assert "4 customers: 2 applied, 2 already set, 2 discarded" in result.output
    session.expire_all()
    accounts = {c.id: (c.language, c.timezone) for c in session.scalars(select(Customer))}
    assert accounts[moved.id] == ("fr", TOKYO)
    assert accounts[same.id] == ("en", NEW_YORK)
    assert accounts[invalid.id] == ("en", "Europe/Rome")
    for model in (ProfileField, ProfileFieldHistory, SharingChoice):
        assert _rows(session, model, "timezone") == 0, model
    assert _rows(session, ProfileField, "language") == 0
    assert _rows(session, ProfileFieldHistory, "language") == 0
    # The language stays a field a purpose may use: whether it is shared is still the choice.
    assert _rows(session, SharingChoice, "language") == 2
    exported = export_customer(session, session.get(Customer, moved.id))
    assert not {"timezone", "language"} & set(exported["profile"])
    assert exported["profile_history"] == []
    assert "needs move-settings" not in runner.invoke(args=["vault", "status"]).output

    again = runner.invoke(args=["vault", "move-settings"])
    assert again.exit_code == 0 and "0 customers" in again.output


def test_a_choice_made_after_the_upgrade_is_never_overwritten_by_an_old_copy(session, runner):
    customer = make_customer(session)
    _legacy_copy(session, customer, "timezone", TOKYO)
    _legacy_copy(session, customer, "language", "fr")
    current = settings_of(customer)
    wanted = replace(current, language="de", timezone=NEW_YORK)
    change_settings(session, customer, wanted, current.version)
    assert runner.invoke(args=["vault", "move-settings"]).exit_code == 0
    session.expire_all()
    stored = session.get(Customer, customer.id)
    assert (stored.language, stored.timezone) == ("de", NEW_YORK)


def test_values_under_a_missing_master_key_are_left_for_a_later_run(session, runner):
    customer = make_customer(session)
    _legacy_copy(session, customer, "timezone", TOKYO)
    session.get(CustomerKey, customer.id).kek_version = 99
    session.commit()
    result = runner.invoke(args=["vault", "move-settings"])
    assert result.exit_code == 1 and "1 values could not be read" in result.output
    assert "Traceback" not in result.output
    session.expire_all()
    assert session.get(Customer, customer.id).timezone == "Europe/Rome"
    assert _rows(session, ProfileField, "timezone") == 1


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
