"""Account settings: one time zone, changed by one service; profile copies of older releases."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.errors import Conflict, InvalidInput
from app.vault.erasure import erase_customer
from app.vault.export import export_customer
from app.vault.models import (
    Customer,
    CustomerKey,
    ProfileField,
    ProfileFieldHistory,
    SharingChoice,
)
from app.vault.service import open_cipher
from app.vault.settings import Settings, change_settings, settings_of
from tests.integration.builders import make_customer

TOKYO, NEW_YORK = "Asia/Tokyo", "America/New_York"


def _legacy_copy(session, customer: Customer, value: str, *, history: str | None = None) -> None:
    """A time zone kept in the profile the way older releases kept it (encrypted, shareable)."""
    cipher = open_cipher(session, customer)
    owner = {"customer_id": customer.id, "field": "timezone"}
    session.add(ProfileField(**owner, ciphertext=cipher.encrypt("timezone", value)))
    if history:
        sealed = cipher.encrypt("timezone", history)
        session.add(ProfileFieldHistory(**owner, ciphertext=sealed, actor="customer"))
    session.add(SharingChoice(**owner, purpose="offers", shared=True))
    session.commit()


def _rows_left(session) -> int:
    return sum(
        session.scalar(select(func.count()).where(model.field == "timezone")) or 0
        for model in (ProfileField, ProfileFieldHistory, SharingChoice)
    )


def test_the_time_zone_is_a_setting_of_the_account_and_not_a_profile_field(session):
    customer = make_customer(session, timezone=TOKYO)
    assert settings_of(customer).timezone == TOKYO
    assert session.scalar(select(func.count()).where(ProfileField.field == "timezone")) == 0
    exported = export_customer(session, customer)
    assert exported["customer"]["timezone"] == TOKYO and "timezone" not in exported["profile"]


def test_changing_the_time_zone_validates_it_and_refuses_stale_forms(session):
    customer = make_customer(session)
    before = settings_of(customer)
    for bad in ("Mars/Olympus_Mons", "../../etc/passwd", " ", None, 42):
        with pytest.raises(InvalidInput, match="time zone"):
            change_settings(session, customer, Settings(timezone=bad), before.version)
    assert change_settings(session, customer, Settings(timezone=f" {TOKYO} "), before.version)
    with pytest.raises(Conflict):
        change_settings(session, customer, Settings(timezone=NEW_YORK), before.version)
    session.expire_all()
    assert session.get(Customer, customer.id).timezone == TOKYO
    same = settings_of(customer)
    assert change_settings(session, customer, same, same.version) is False


def test_move_settings_applies_profile_copies_then_deletes_them(session, runner):
    moved = make_customer(session)
    _legacy_copy(session, moved, TOKYO, history="Europe/Paris")
    same = make_customer(session, timezone=NEW_YORK)
    _legacy_copy(session, same, NEW_YORK)
    invalid = make_customer(session)
    _legacy_copy(session, invalid, "Mars/Olympus_Mons")
    erased = make_customer(session)
    erase_customer(session, erased, actor="customer", reason="test")
    session.add(ProfileField(customer_id=erased.id, field="timezone", ciphertext=b"\x00junk"))
    session.commit()
    assert "4 (needs move-settings)" in runner.invoke(args=["vault", "status"]).output

    result = runner.invoke(args=["vault", "move-settings", "--batch-size", "1"])
    assert result.exit_code == 0, result.output
    assert "4 customers: 1 applied, 1 already set, 2 discarded" in result.output
    session.expire_all()
    zones = {c.id: c.timezone for c in session.scalars(select(Customer))}
    assert (zones[moved.id], zones[same.id], zones[invalid.id]) == (TOKYO, NEW_YORK, "Europe/Rome")
    assert _rows_left(session) == 0
    exported = export_customer(session, session.get(Customer, moved.id))
    assert "timezone" not in exported["profile"]
    assert all(row["field"] != "timezone" for row in exported["profile_history"])
    assert "needs move-settings" not in runner.invoke(args=["vault", "status"]).output

    again = runner.invoke(args=["vault", "move-settings"])
    assert again.exit_code == 0 and "0 customers" in again.output


def test_a_choice_made_after_the_upgrade_is_never_overwritten_by_an_old_copy(session, runner):
    customer = make_customer(session)
    _legacy_copy(session, customer, TOKYO)
    current = settings_of(customer)
    change_settings(session, customer, Settings(timezone=NEW_YORK), current.version)
    assert runner.invoke(args=["vault", "move-settings"]).exit_code == 0
    session.expire_all()
    assert session.get(Customer, customer.id).timezone == NEW_YORK


def test_values_under_a_missing_master_key_are_left_for_a_later_run(session, runner):
    customer = make_customer(session)
    _legacy_copy(session, customer, TOKYO)
    session.get(CustomerKey, customer.id).kek_version = 99
    session.commit()
    result = runner.invoke(args=["vault", "move-settings"])
    assert result.exit_code == 1 and "1 values could not be read" in result.output
    assert "Traceback" not in result.output
    session.expire_all()
    assert session.get(Customer, customer.id).timezone == "Europe/Rome"
    assert session.scalar(select(func.count()).where(ProfileField.field == "timezone")) == 1
