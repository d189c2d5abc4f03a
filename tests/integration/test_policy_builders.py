"""Builders for the policy integration tests: customers and their facts as raw rows (fast)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete

from app.customers.models import Customer
from app.ledger.models import ConsentState
from app.outbox.models import SendLog, Suppression
from app.vault.models import ContactPreferences, SharingChoice

AT = datetime(2024, 5, 15, 10, 30, tzinfo=UTC)  # a Wednesday


@dataclass
class Profile:
    """Everything a test customer may have, in plain values (offsets are days before AT)."""

    jurisdiction: str = "IT"
    timezone: str = "Europe/Rome"
    age: int | None = 30
    email_verified: bool = True
    phone_verified: bool = True
    objected: bool = False
    existing: bool = False
    erased: bool = False
    #: (purpose, channel) -> (status, confirmed, granted days ago | None, expires in days | None)
    consents: dict = field(default_factory=dict)
    suppressions: tuple[str, ...] = ()
    #: purpose -> fields shared
    shares: dict = field(default_factory=dict)
    #: purpose -> fields with a choice of not sharing (these replace any in ``shares``)
    unshared: dict = field(default_factory=dict)
    windows: list | None = None
    weekly_cap: int | None = None
    paused_days: float | None = None
    #: (channel, hours before AT, transactional)
    sends: tuple = ()


def add_customer(session, profile: Profile) -> int:
    """Insert ``profile`` as rows; returns the customer id (flushed, not committed)."""
    customer = Customer(
        jurisdiction=profile.jurisdiction,
        timezone=profile.timezone,
        age_attested=profile.age,
        email_verified=profile.email_verified,
        phone_verified=profile.phone_verified,
        objected_at=AT - timedelta(days=3) if profile.objected else None,
        customer_since=AT - timedelta(days=400) if profile.existing else None,
        erased_at=AT - timedelta(days=1) if profile.erased else None,
    )
    session.add(customer)
    session.flush()
    cid = customer.id
    for (purpose, channel), (status, confirmed, granted, expires) in profile.consents.items():
        session.add(
            ConsentState(
                customer_id=cid, purpose=purpose, channel=channel, status=status,
                lawful_basis="consent", confirmed=confirmed, last_seq=0,
                granted_at=None if granted is None else AT - timedelta(days=granted),
                expires_at=None if expires is None else AT + timedelta(days=expires),
            )
        )  # fmt: skip
    for channel in profile.suppressions:
        session.add(Suppression(customer_id=cid, channel=channel, reason="bounce", source="test"))
    for purpose, fields in profile.shares.items():
        for name in set(fields) - set(profile.unshared.get(purpose, ())):
            session.add(SharingChoice(customer_id=cid, purpose=purpose, field=name, shared=True))
    for purpose, fields in profile.unshared.items():
        for name in fields:
            session.add(SharingChoice(customer_id=cid, purpose=purpose, field=name, shared=False))
    if profile.windows is not None or profile.weekly_cap is not None or profile.paused_days:
        paused = None if profile.paused_days is None else AT + timedelta(days=profile.paused_days)
        session.add(
            ContactPreferences(
                customer_id=cid, windows_json=json.dumps(profile.windows or []),
                weekly_cap=profile.weekly_cap, paused_until=paused,
            )
        )  # fmt: skip
    for channel, hours, transactional in profile.sends:
        session.add(
            SendLog(
                customer_id=cid, channel=channel, purpose="offers", transactional=transactional,
                sent_at=AT - timedelta(hours=hours),
            )
        )  # fmt: skip
    session.flush()
    return cid


def clear_customers(session) -> None:
    """Remove every customer and their policy facts (between Hypothesis examples)."""
    for model in (SendLog, ContactPreferences, SharingChoice, Suppression, ConsentState):
        session.execute(delete(model))
    session.execute(delete(Customer))
    session.flush()
