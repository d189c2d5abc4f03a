"""Signed links: round trip, tampering, expiry, clock skew, and one kind never another."""

from __future__ import annotations

import time

import pytest
from flask import Flask

from app import signed_links
from app.delivery.tokens import (
    InvalidUnsubscribeToken,
    UnsubscribeRequest,
    read_unsubscribe_token,
    unsubscribe_token,
)
from app.settings import attach, load_settings

REF = "0b6f7f0e-5d6c-4c43-9a7e-3f1f1f5e2a11"


def _app(secret_key: str) -> Flask:
    application = Flask(__name__)
    overrides = {"SECRET_KEY": secret_key, "UNSUBSCRIBE_TOKEN_DAYS": 30}
    attach(application, load_settings("testing", overrides, environ={}))
    return application


@pytest.fixture
def app():
    application = _app("k" * 64)
    with application.app_context():
        yield application


def test_round_trip_names_customer_purpose_and_channel(app):
    token = unsubscribe_token(REF, "offers", "email")
    assert token.isascii() and "/" not in token and "+" not in token
    assert read_unsubscribe_token(token) == UnsubscribeRequest(REF, "offers", "email")


def _flip(text: str, position: int) -> str:
    swapped = "A" if text[position] != "A" else "B"
    return text[:position] + swapped + text[position + 1 :]


@pytest.mark.parametrize("where", ["payload", "signature", "empty", "extra", "unsigned"])
def test_any_change_to_a_token_is_refused(app, where):
    token = unsubscribe_token(REF, "offers", "email")
    payload, _, signature = token.rpartition(".")
    changed = {
        "payload": _flip(payload, 5) + "." + signature,
        "signature": payload + "." + _flip(signature, 3),
        "empty": "",
        "extra": token + "x",
        "unsigned": payload,
    }[where]
    with pytest.raises(InvalidUnsubscribeToken, match="not valid"):
        read_unsubscribe_token(changed)


def test_a_token_signed_under_another_secret_is_refused(app):
    token = unsubscribe_token(REF, "offers", "email")
    with (
        _app("other" * 13).app_context(),
        pytest.raises(InvalidUnsubscribeToken, match="not valid"),
    ):
        read_unsubscribe_token(token)


def test_a_link_of_one_kind_never_passes_as_another(app):
    unsubscribe = unsubscribe_token(REF, "offers", "email")
    for kind in (signed_links.DOUBLE_OPT_IN, signed_links.PASSWORD_RESET):
        with pytest.raises(signed_links.Invalid):
            signed_links.read(kind, unsubscribe, 3600)
    confirmation = signed_links.sign(signed_links.DOUBLE_OPT_IN, [REF, "offers", "email"])
    with pytest.raises(InvalidUnsubscribeToken, match="not valid"):
        read_unsubscribe_token(confirmation)


def _issued(monkeypatch, seconds_from_now: float) -> str:
    now = time.time()
    with monkeypatch.context() as patch:
        patch.setattr(time, "time", lambda: now + seconds_from_now)
        return unsubscribe_token(REF, "offers", "sms")


def test_expiry_and_clock_skew(app, monkeypatch):
    with pytest.raises(InvalidUnsubscribeToken, match="expired"):
        read_unsubscribe_token(_issued(monkeypatch, -31 * 86400))
    assert read_unsubscribe_token(_issued(monkeypatch, -29 * 86400)).channel == "sms"
    assert read_unsubscribe_token(_issued(monkeypatch, 60)).channel == "sms"  # issuer ahead
    with pytest.raises(InvalidUnsubscribeToken, match="not valid"):
        read_unsubscribe_token(_issued(monkeypatch, 86400))


@pytest.mark.parametrize("values", [[REF, "offers"], [REF, "offers", ""], [REF, 1, "email"], REF])
def test_an_authentic_link_naming_nothing_usable_is_refused(app, values):
    token = signed_links.sign(signed_links.UNSUBSCRIBE, values)
    with pytest.raises(InvalidUnsubscribeToken, match="not valid"):
        read_unsubscribe_token(token)
