"""The offer choice's purchase summaries: sealed per customer, kept fresh, used only while
the customer allows it, gone with an erasure."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from app.customers.models import Customer
from app.marketing import offer_profiles
from app.marketing.eligibility import HISTORY_FIELD, PROFILING_PURPOSE
from app.marketing.offer_service import OfferBook, choose_offers
from app.marketing.purchase_summaries import parse_summary
from app.marketing.purchases import record_purchases
from app.transaction import transaction
from app.vault.derived import open_summary
from app.vault.erasure import erase_customer
from app.vault.errors import DecryptionError
from app.vault.keystore import wrapped_keys
from app.vault.models import FieldSummary
from app.vault.service import CustomerErased, open_cipher, set_sharing, update_field
from tests.web.test_marketing_console import purchases, seed_people


def _sealed(session, customer_id: int) -> bytes | None:
    row = session.get(FieldSummary, (customer_id, HISTORY_FIELD))
    return None if row is None else row.ciphertext


def _opened(session, customer_id: int) -> dict:
    cipher = open_cipher(session, session.get(Customer, customer_id))
    return parse_summary(open_summary(cipher, HISTORY_FIELD, _sealed(session, customer_id)))


def _no_remaking(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a fresh summary was made again")

    monkeypatch.setattr(offer_profiles, "seal_purchase_summary", refuse)


def test_the_choice_makes_missing_summaries_once_sealed_and_then_reads_them(session, monkeypatch):
    ids = seed_people(session, count=4)  # histories written at sign-up: no summary yet
    now = datetime.now(UTC)
    first = choose_offers(session, ids, now, record=False)
    assert session.scalar(select(func.count()).select_from(FieldSummary)) == 4
    for cid in ids:
        sealed = _sealed(session, cid)
        assert b"wine" not in sealed and b"books" not in sealed  # no plaintext at rest
        assert set(_opened(session, cid)) == {("wine", "books")[ids.index(cid) % 2]}
        cipher = open_cipher(session, session.get(Customer, cid))
        with pytest.raises(DecryptionError):  # a summary never opens as the history itself
            cipher.decrypt(HISTORY_FIELD, sealed)
    _no_remaking(monkeypatch)
    assert choose_offers(session, ids, now, record=False) == first  # same moment, same draws


def test_recording_purchases_seals_a_fresh_summary_with_the_history(session, monkeypatch):
    ids = seed_people(session, count=1)
    customer = session.get(Customer, ids[0])
    tea = {"sku": "T-1", "category": "tea", "amount_cents": 450, "at": "2026-11-01T10:00:00Z"}
    assert record_purchases(session, customer, [tea], "api").reason == "stored"
    assert b"tea" not in _sealed(session, ids[0])
    moment = int(datetime(2026, 11, 1, 10, tzinfo=UTC).timestamp())
    assert _opened(session, ids[0])["tea"] == [moment]
    _no_remaking(monkeypatch)
    book = OfferBook.load(session, datetime.now(UTC), reason="test")
    assert "tea" in book.catalogue and ids[0] in book.rows


def test_a_history_rewritten_elsewhere_makes_its_summary_stale(session):
    ids = seed_people(session, count=1)  # a wine buyer
    now = datetime.now(UTC)
    assert choose_offers(session, ids, now, record=False)[ids[0]].category == "wine"
    customer = session.get(Customer, ids[0])
    update_field(session, customer, HISTORY_FIELD, purchases(2, "garden"),
                 actor="staff", reason="corrected import")  # fmt: skip
    assert choose_offers(session, ids, now, record=False)[ids[0]].category == "garden"
    assert set(_opened(session, ids[0])) == {"garden"}  # made again from the new history


def test_withdrawing_the_shared_history_stops_its_use_within_a_run(session):
    ids = seed_people(session, count=3)
    now = datetime.now(UTC)
    book = OfferBook.load(session, now, reason="test")
    assert set(book.rows) == set(ids)
    customer = session.get(Customer, ids[0])
    set_sharing(session, customer, {(HISTORY_FIELD, PROFILING_PURPOSE): False})
    with transaction(session):  # the next batch of the same run
        chosen = book.choose(session, ids, record=False)
    assert set(chosen) == set(ids[1:])
    assert ids[0] not in OfferBook.load(session, now, reason="test").rows


def test_an_erased_customers_summary_is_gone_and_unreadable(session):
    ids = seed_people(session, count=2)
    now = datetime.now(UTC)
    choose_offers(session, ids, now, record=False)
    kept = _sealed(session, ids[0])  # a copy, as a backup taken before would hold
    customer = session.get(Customer, ids[0])
    erase_customer(session, customer, actor="test", reason="Art. 17 request")
    assert _sealed(session, ids[0]) is None
    assert wrapped_keys(session, [ids[0]]) == {}  # the only key that opened it is destroyed
    with pytest.raises(CustomerErased):
        open_cipher(session, customer)
    other = open_cipher(session, session.get(Customer, ids[1]))
    with pytest.raises(DecryptionError):
        open_summary(other, HISTORY_FIELD, kept)
    later = choose_offers(session, ids, now + timedelta(days=1), record=False)
    assert set(later) == {ids[1]}
