"""Loading the demo idempotently: staff per role, notices, a few hundred customers."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import time, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.accounts.models import StaffUser
from app.accounts.passwords import DEMO_CUSTOMER_PASSWORD, DEMO_STAFF_PASSWORD, hash_password
from app.accounts.service import create_staff_user
from app.compliance.models import DataSubjectRequest
from app.compliance.requests import file_request
from app.customers.models import Customer
from app.demo.campaigns import seed_past_campaign
from app.demo.notices import NOTICES
from app.demo.people import DemoPerson, demo_people
from app.ledger import consent
from app.ledger.models import Notice
from app.ledger.notices import current_notice, publish_notice
from app.ledger.proofs import make_checkpoint
from app.marketing.value_service import refit_values
from app.models_base import utcnow
from app.outbox.models import Suppression
from app.policy_sets.in_force import policies_on_this_machine, policy_for
from app.policy_sets.revisions import ensure_recorded
from app.transaction import transaction
from app.vault import service as vault
from app.vault.directory import find_customer_by_email
from app.vault.preferences import Window, save_preferences

STAFF_PASSWORD = DEMO_STAFF_PASSWORD
CUSTOMER_PASSWORD = DEMO_CUSTOMER_PASSWORD
STAFF = (
    ("admin@example.com", "admin"),
    ("marketer@example.com", "marketer"),
    ("compliance@example.com", "compliance_officer"),
)
DEMO_CUSTOMER_EMAILS = ("anna.demo@example.org", "marco.demo@example.net")


@dataclass(frozen=True)
class DemoLogin:
    """A login printed for the person trying the demo."""

    who: str
    email: str
    password: str
    url: str


def demo_logins() -> list[DemoLogin]:
    """The demo accounts and where each signs in."""
    logins = [DemoLogin(role, email, STAFF_PASSWORD, "/staff/login") for email, role in STAFF]
    logins += [DemoLogin("customer", e, CUSTOMER_PASSWORD, "/login") for e in DEMO_CUSTOMER_EMAILS]
    return logins


def is_empty(session: Session) -> bool:
    """True when the database holds no customers and no staff."""
    customers = session.scalar(select(func.count()).select_from(Customer))
    staff = session.scalar(select(func.count()).select_from(StaffUser))
    return not customers and not staff


def seed_staff(session: Session) -> None:
    """One staff account per role (kept when present)."""
    for email, role in STAFF:
        if session.scalar(select(StaffUser.id).where(StaffUser.email == email)) is None:
            create_staff_user(session, email, role, STAFF_PASSWORD)


def seed_notices(session: Session) -> None:
    """Version 1 of every purpose's notice in English and Italian (kept when present)."""
    for purpose, languages in NOTICES.items():
        for language, (title, text) in languages.items():
            exists = session.scalar(
                select(Notice.id).where(Notice.purpose == purpose, Notice.language == language)
            )
            if exists is None:
                publish_notice(
                    session,
                    purpose=purpose,
                    language=language,
                    title=title,
                    text=text,
                    effective_at=utcnow() - timedelta(days=400),
                )


def _share_and_consent(session: Session, customer: Customer, rng: random.Random) -> None:
    policy = policy_for(customer.jurisdiction)
    if policy is None:  # no policy governs them: nothing to share or consent to
        return
    choices = {}
    for purpose_id, purpose in policy.purposes.items():
        keen = rng.random() < 0.75
        for field in purpose.fields:
            choices[(field, purpose_id)] = keen and rng.random() < 0.9
    vault.set_sharing(session, customer, choices)
    for purpose_id, purpose in policy.purposes.items():
        if purpose.lawful_basis == "contract":
            continue  # service messages need no consent
        for channel in policy.channels:
            if channel == "sms" and rng.random() < 0.5:
                continue
            if rng.random() < 0.35:
                continue
            notice = current_notice(session, purpose_id, customer.language)
            consent.grant(
                session,
                customer,
                purpose=purpose_id,
                channel=channel,
                notice=notice,
                source="import",
                method="import",
                actor="demo-import",
                skip_double_opt_in=True,
            )
            if rng.random() < 0.08:
                consent.withdraw(
                    session,
                    customer,
                    purpose=purpose_id,
                    channel=channel,
                    source="portal",
                    method="web_form",
                    actor="customer",
                )


def _limits(session: Session, customer: Customer, rng: random.Random) -> None:
    if rng.random() < 0.3:
        start, end = sorted(rng.sample(range(8, 21), 2))
        windows = (Window(frozenset(range(5)), time(start), time(end)),)
        save_preferences(
            session,
            customer,
            windows=windows,
            weekly_cap=rng.choice((None, 1, 2, 3)),
            paused_until=None,
            preferred_channel=rng.choice((None, "email", "sms")),
            expected_version=0,
        )
    if rng.random() < 0.03:
        with transaction(session):
            session.add(
                Suppression(
                    customer_id=customer.id, channel="email", reason="bounce", source="demo"
                )
            )
    if rng.random() < 0.03:
        consent.object_to_direct_marketing(
            session, customer, source="portal", method="web_form", actor="customer"
        )


def seed_customer(
    session: Session, person: DemoPerson, rng: random.Random, password_hash=None
) -> Customer:
    """Create one demo customer with shares, consents and limits (kept when present)."""
    existing = find_customer_by_email(session, person.email)
    if existing is not None:
        return existing
    customer = vault.register_customer(
        session,
        email=person.email,
        profile=person.profile,
        password_hash=password_hash,
        jurisdiction=person.jurisdiction,
        timezone=person.timezone,
        language=person.language,
        age_attested=18,
    )
    with transaction(session):
        customer.email_verified = True
        customer.phone_verified = "phone" in person.profile
        customer.customer_since = utcnow() - timedelta(days=rng.randint(30, 2000))
    _share_and_consent(session, customer, rng)
    _limits(session, customer, rng)
    return customer


def seed_demo(session: Session, customers: int = 300) -> int:
    """Load the demo; safe to run again (existing people are kept). Returns customers added."""
    seed_staff(session)
    seed_notices(session)
    before = session.scalar(select(func.count()).select_from(Customer)) or 0
    rng = random.Random(7)
    password = hash_password(CUSTOMER_PASSWORD)
    for index, email in enumerate(DEMO_CUSTOMER_EMAILS):
        person = demo_people(1, seed=100 + index)[0]
        seed_customer(
            session,
            DemoPerson(email, person.profile, person.language, "IT", person.timezone),
            rng,
            password_hash=password,
        )
    for person in demo_people(customers):
        seed_customer(session, person, rng)
    make_checkpoint(session, only_if_grown=True)
    _derived(session)
    seed_past_campaign(session)
    _requests(session)
    return (session.scalar(select(func.count()).select_from(Customer)) or 0) - before


#: Demo data-subject requests: (customer index, kind, days ago, details); one is overdue.
DEMO_REQUESTS = (
    (3, "access", 40, "Please send me a copy of everything you hold about me."),
    (11, "rectification", 12, "My postcode changed when I moved."),
    (27, "objection", 3, None),
)


def _requests(session: Session) -> None:
    """A few open data-subject requests (once), so the console shows deadlines at work."""
    if session.scalar(select(func.count()).select_from(DataSubjectRequest)):
        return
    people = list(
        session.scalars(select(Customer).where(Customer.erased_at.is_(None)).order_by(Customer.id))
    )
    for index, kind, days, details in DEMO_REQUESTS:
        if index < len(people):
            file_request(
                session,
                people[index],
                kind,
                channel="staff",
                actor="demo-seed",
                details=details,
                received_at=utcnow() - timedelta(days=days),
            )


def _derived(session: Session) -> None:
    """What the running system would compute: policy revisions on record, value tiers."""
    ensure_recorded(session, policies_on_this_machine(), actor="demo-seed")
    refit_values(session, trigger="demo")
    session.commit()
