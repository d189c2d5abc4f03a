"""Purchase events are kept only under the purposes the customer allowed."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from app.customers.models import Customer
from app.errors import InvalidInput, NotFound
from app.ledger import consent
from app.marketing.eligibility import HISTORY_FIELD, PROFILING_PURPOSE
from app.marketing.purchases import record_purchase
from app.vault import service as vault
from app.vault.models import VaultAccess
from tests.integration.builders import grant, make_customer

WINE = {"sku": "W-1", "category": "wine", "amount_cents": 1250, "at": "2026-11-30T18:00:00+01:00"}


def _history(session, customer) -> list[dict]:
    values = vault.read_fields(session, customer, purpose=PROFILING_PURPOSE,
                               fields=[HISTORY_FIELD], actor="test")  # fmt: skip
    return json.loads(values[HISTORY_FIELD])


def _learning_customer(session, **profile):
    customer = make_customer(session, profile=profile)
    vault.set_sharing(session, customer, {(HISTORY_FIELD, PROFILING_PURPOSE): True})
    grant(session, customer, PROFILING_PURPOSE)
    return customer


def test_a_purchase_is_stored_once_in_the_encrypted_history(session):
    customer = _learning_customer(session)  # no history held yet
    first = record_purchase(session, customer.ref, **WINE)
    assert (first.stored, first.reason) == (1, "stored")
    again = record_purchase(session, customer.ref, **WINE)
    assert (again.stored, again.duplicates, again.reason) == (0, 1, "duplicate")
    books = {**WINE, "sku": "B-9", "category": "books", "at": "2026-12-01"}
    assert record_purchase(session, customer.ref, **books).reason == "stored"
    held = _history(session, customer)
    assert [p["category"] for p in held] == ["wine", "books"]
    assert held[0]["at"] == "2026-11-30T17:00:00Z"
    logged = session.scalars(
        select(VaultAccess.reason).where(VaultAccess.actor == "marketing:purchases")
    ).all()
    assert logged == ["1 purchases recorded (api)"] * 2


def test_nothing_is_kept_without_consent_sharing_or_after_an_objection(session):
    history = json.dumps([{**WINE, "at": "2026-01-05"}])
    no_consent = make_customer(session, profile={HISTORY_FIELD: history})
    vault.set_sharing(session, no_consent, {(HISTORY_FIELD, PROFILING_PURPOSE): True})
    assert record_purchase(session, no_consent.ref, **WINE).reason == "no_consent"

    not_shared = make_customer(session)
    grant(session, not_shared, PROFILING_PURPOSE)
    assert record_purchase(session, not_shared.ref, **WINE).reason == "not_shared"

    withdrawn = _learning_customer(session)
    consent.withdraw(session, withdrawn, purpose=PROFILING_PURPOSE, channel="email",
                     source="portal", method="web_form", actor="customer")  # fmt: skip
    outcome = record_purchase(session, withdrawn.ref, **WINE)
    assert (outcome.stored, outcome.reason) == (0, "no_consent")
    assert "not consented" in outcome.message

    objected = _learning_customer(session)
    objected_row = session.get(Customer, objected.id)
    objected_row.objected_at = objected_row.created_at
    session.commit()
    assert record_purchase(session, objected.ref, **WINE).reason == "objected"

    held = _history(session, no_consent)
    assert len(held) == 1  # the refused purchase was not added


def test_unknown_customers_and_malformed_purchases_are_clear_errors(session):
    customer = _learning_customer(session)
    with pytest.raises(NotFound):
        record_purchase(session, "no-such-ref", **WINE)
    for bad in ({"amount_cents": -1}, {"category": "Wine & Co"}, {"at": "yesterday"},
                {"at": "2026-11-30T18:00:00"}):  # fmt: skip
        with pytest.raises(InvalidInput):
            record_purchase(session, customer.ref, **{**WINE, **bad})


def test_csv_import_reports_what_was_kept_and_refuses_bad_lines(app, session, runner, tmp_path):
    kept = _learning_customer(session)
    refused = make_customer(session)
    good = tmp_path / "purchases.csv"
    good.write_text(
        "customer,sku,category,amount,at\n"
        f"{kept.ref},W-1,wine,12.50,2026-11-30\n"
        f"{kept.ref},B-2,books,8,2026-12-01T10:00:00Z\n"
        f"{refused.ref},W-1,wine,12.50,2026-11-30\n"
        "unknown-ref,W-1,wine,1,2026-11-30\n",
        encoding="utf-8",
    )
    result = runner.invoke(args=["purchases", "import", str(good)])
    assert result.exit_code == 0, result.output
    assert "Stored 2 purchases" in result.output
    assert "Not stored, no consent: 1 purchases." in result.output
    assert "Unknown customers: 1." in result.output
    assert [p["amount_cents"] for p in _history(session, kept)] == [1250, 800]

    bad = tmp_path / "bad.csv"
    bad.write_text(f"customer,sku,category,amount,at\n{kept.ref},W-1,wine,ten,2026-11-30\n")
    result = runner.invoke(args=["purchases", "import", str(bad)])
    assert result.exit_code == 2 and "line 2" in result.output and "Traceback" not in result.output
