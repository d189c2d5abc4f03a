"""Unsubscribe tokens: round trip, tampering, expiry, and links of the previous format."""

from __future__ import annotations

import time

import pytest
from flask import Flask
from itsdangerous import URLSafeTimedSerializer

from app.delivery.tokens import (
    InvalidUnsubscribeToken,
    UnsubscribeRequest,
    read_unsubscribe_token,
    unsubscribe_token,
)

REF = "0b6f7f0e-5d6c-4c43-9a7e-3f1f1f5e2a11"


@pytest.fixture
def app():
    application = Flask(__name__)
    application.config.update(SECRET_KEY="k" * 64, UNSUBSCRIBE_TOKEN_DAYS=30)
    with application.app_context():
        yield application


def test_round_trip_names_customer_purpose_and_channel(app):
    token = unsubscribe_token(REF, "offers", "email")
    assert token.startswith("u2.") and token.isascii() and "/" not in token
    assert read_unsubscribe_token(token) == UnsubscribeRequest(REF, "offers", "email")


def _flip(text: str, position: int) -> str:
    swapped = "A" if text[position] != "A" else "B"
    return text[:position] + swapped + text[position + 1 :]


@pytest.mark.parametrize("where", ["payload", "tag", "prefix-only", "extra"])
def test_any_change_to_a_token_is_refused(app, where):
    token = unsubscribe_token(REF, "offers", "email")
    signed, _, tag = token.rpartition(".")
    changed = {
        "payload": _flip(signed, 5) + "." + tag,
        "tag": signed + "." + _flip(tag, 3),
        "prefix-only": "u2.",
        "extra": token + "x",
    }[where]
    with pytest.raises(InvalidUnsubscribeToken, match="not valid"):
        read_unsubscribe_token(changed)


def test_a_token_signed_under_another_secret_is_refused(app):
    token = unsubscribe_token(REF, "offers", "email")
    app.config["SECRET_KEY"] = "other" * 13
    with pytest.raises(InvalidUnsubscribeToken, match="not valid"):
        read_unsubscribe_token(token)


def test_expiry_and_clock_skew(app):
    now = int(time.time())
    old = unsubscribe_token(REF, "offers", "email", issued_at=now - 31 * 86400)
    with pytest.raises(InvalidUnsubscribeToken, match="expired"):
        read_unsubscribe_token(old)
    slightly_ahead = unsubscribe_token(REF, "offers", "sms", issued_at=now + 60)
    assert read_unsubscribe_token(slightly_ahead).channel == "sms"
    far_ahead = unsubscribe_token(REF, "offers", "sms", issued_at=now + 86400)
    with pytest.raises(InvalidUnsubscribeToken, match="not valid"):
        read_unsubscribe_token(far_ahead)


def test_links_of_the_previous_format_are_still_honoured(app):
    previous = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt="assenso.unsubscribe.v1")
    token = previous.dumps([REF, "offers", "email"])
    assert read_unsubscribe_token(token) == UnsubscribeRequest(REF, "offers", "email")
    forged = URLSafeTimedSerializer("wrong", salt="assenso.unsubscribe.v1").dumps([REF, "x", "y"])
    with pytest.raises(InvalidUnsubscribeToken, match="not valid"):
        read_unsubscribe_token(forged)
