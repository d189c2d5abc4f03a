"""Builders for integration tests: customers with notices, shares and consents."""

from __future__ import annotations

import itertools

from app.ledger import consent
from app.ledger.models import Notice
from app.ledger.notices import current_notice, publish_notice
from app.vault import service as vault

_numbers = itertools.count(1)

PROFILE = {
    "first_name": "Ottavia",
    "last_name": "Quintavalle",
    "phone": "+393471234567",
    "birthday": "1988-04-12",
    "city": "Bergamo",
    "postcode": "24121",
    "interests": "books,coffee",
}


def ensure_notice(session, purpose: str, language: str = "en") -> Notice:
    """The current notice for ``purpose``, publishing version 1 when there is none."""
    try:
        return current_notice(session, purpose, language)
    except Exception:
        return publish_notice(
            session,
            purpose=purpose,
            language=language,
            title=f"{purpose} notice",
            text=f"We use your data for {purpose}. You can withdraw at any time.",
        )


def make_customer(session, *, email=None, jurisdiction="IT", profile=None, **kw):
    """A customer with the standard test profile (override fields with ``profile``)."""
    number = next(_numbers)
    return vault.register_customer(
        session,
        email=email or f"customer{number}@example.org",
        profile={**PROFILE, **(profile or {})},
        jurisdiction=jurisdiction,
        timezone=kw.pop("timezone", "Europe/Rome"),
        language=kw.pop("language", "en"),
        age_attested=kw.pop("age_attested", 30),
        **kw,
    )


def grant(session, customer, purpose="offers", channel="email", **kw):
    """Grant consent (skipping double opt-in unless asked) from the portal."""
    notice = ensure_notice(session, purpose)
    event, token = consent.grant(
        session,
        customer,
        purpose=purpose,
        channel=channel,
        notice=notice,
        source="portal",
        method="web_form",
        actor="customer",
        skip_double_opt_in=kw.pop("skip_doi", True),
        **kw,
    )
    return event, token
