# ruff: noqa: F811  (fixtures imported from test_portal_support)
"""The portal when the key store fails at commit: a clear message, nothing split, a retry works."""

from __future__ import annotations

from contextlib import contextmanager

from sqlalchemy import event, func, select
from sqlalchemy.exc import OperationalError

from app.customers.models import Customer
from app.extensions import db
from app.vault.consistency import find_splits
from tests.conftest import TEST_PASSWORD
from tests.helpers import csrf_token
from tests.web.test_portal_support import (  # noqa: F401  (fixtures)
    create_customer,
    mailbox,
    portal_app,
    portal_client,
    sign_in_customer,
)


@contextmanager
def key_store_down():
    """Every commit of the key store fails while the block runs."""

    def fail(_connection):
        raise OperationalError("COMMIT", {}, Exception("key store unavailable"))

    engine = db.engines["keystore"]
    event.listen(engine, "commit", fail)
    try:
        yield
    finally:
        event.remove(engine, "commit", fail)


def _signup(client, language="en"):
    data = {
        "csrf_token": csrf_token(client, "/signup"),
        "email": "ann@example.com",
        "password": TEST_PASSWORD,
        "confirm": TEST_PASSWORD,
        "language": language,
        "timezone": "Europe/Rome",
        "age_confirmed": "y",
    }
    return client.post("/signup", data=data)


def test_a_sign_up_the_key_store_refuses_is_no_account_and_the_retry_works(portal_client):
    with key_store_down():
        refused = _signup(portal_client)
    assert refused.status_code == 503
    assert "could not be created just now" in refused.get_data(as_text=True)
    # What was written stays marked unfinished: nobody can sign in with it or read it.
    assert [split.kind for split in find_splits(db.session)] == ["signup-unfinished"]
    assert sign_in_customer(portal_client, "ann@example.com").status_code == 200  # refused
    assert portal_client.get("/me/").status_code == 302
    assert _signup(portal_client).status_code == 302  # the retry undoes it and signs up
    assert db.session.scalar(select(func.count()).select_from(Customer)) == 1
    assert list(find_splits(db.session)) == []


def test_the_message_is_in_the_customers_language(portal_client):
    token = csrf_token(portal_client, "/signup")
    portal_client.post("/language", data={"csrf_token": token, "lang": "it", "next": "/signup"})
    with key_store_down():
        refused = _signup(portal_client, language="it")
    assert "Non è stato possibile creare il tuo account" in refused.get_data(as_text=True)


def test_an_interrupted_account_deletion_is_finished_by_asking_again(
    portal_client, create_customer
):
    customer = create_customer("bea@example.com", first_name="Bea")
    sign_in_customer(portal_client, "bea@example.com")
    form = {"csrf_token": csrf_token(portal_client, "/me/account"), "password": TEST_PASSWORD}
    with key_store_down():
        refused = portal_client.post("/me/account/delete", data=form)
    assert refused.status_code == 503
    assert "erasure could not be finished" in refused.get_data(as_text=True)
    assert [split.kind for split in find_splits(db.session)] == ["erasure-unfinished"]
    db.session.rollback()
    form["csrf_token"] = csrf_token(portal_client, "/me/account")
    done = portal_client.post("/me/account/delete", data=form)
    assert done.status_code == 302
    db.session.expire_all()
    assert db.session.get(Customer, customer.id).erased_at is not None
    assert list(find_splits(db.session)) == []
