"""The records the web fuzz works on: staff of every role, a customer with consents, a
campaign, a data-subject request, policy revisions and the signed tokens that open pages."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select

from app.accounts.passwords import hash_password
from app.accounts.service import create_staff_user
from app.campaigns import service as campaigns
from app.compliance import requests as dsr
from app.delivery.tokens import unsubscribe_token
from app.demo.seed import seed_notices
from app.ledger.consent import grant
from app.ledger.models import ConsentEvent
from app.ledger.notices import current_notice
from app.policy_sets.in_force import policies_on_this_machine
from app.policy_sets.models import PolicyRevision
from app.policy_sets.revisions import ensure_recorded
from app.vault.service import register_customer
from tests.conftest import TEST_PASSWORD

CUSTOMER_EMAIL = "fuzzed.customer@example.org"
STAFF_ROLES = ("admin", "marketer", "compliance_officer")


@dataclass
class World:
    """Real values for URL arguments (``int`` for ids), and the e-mail of each account."""

    samples: dict[str, list[str]] = field(default_factory=dict)
    emails: dict[str, str] = field(default_factory=dict)


def build_world(session) -> World:
    """Create the records; every account's password is ``TEST_PASSWORD``."""
    world = World(emails={"customer": CUSTOMER_EMAIL})
    for role in STAFF_ROLES:
        world.emails[role] = f"fuzz.{role}@staff.example.com"
        create_staff_user(session, world.emails[role], role, TEST_PASSWORD)
    seed_notices(session)
    customer = register_customer(
        session,
        email=CUSTOMER_EMAIL,
        profile={"first_name": "Fuzz", "city": "Turin"},
        password_hash=hash_password(TEST_PASSWORD),
        language="en",
        age_attested=30,
    )
    notice = current_notice(session, "offers", "en")
    for channel, skip in (("email", True), ("sms", False)):
        _event, confirm = grant(
            session,
            customer,
            purpose="offers",
            channel=channel,
            notice=notice,
            source="portal",
            method="web_form",
            actor="customer",
            skip_double_opt_in=skip,
        )
    campaign = campaigns.create_campaign(
        session,
        actor="staff:fuzz",
        name="Fuzz",
        purpose="offers",
        channel="email",
        templates=[{"subject": "Hi", "body_text": "Hi {{ first_name }} {{ unsubscribe_url }}"}],
    )
    request = dsr.file_request(
        session,
        customer,
        "rectification",
        channel="staff",
        actor="staff:fuzz",
        details="Please fix my city.",
    )
    ensure_recorded(session, policies_on_this_machine(), actor="fuzz")
    revisions = list(session.scalars(select(PolicyRevision)))
    world.samples = {
        "int": [str(customer.id), str(campaign.id), str(request.id)]
        + [str(revision_id) for revision_id in revisions],
        "token": [unsubscribe_token(customer.ref, "offers", "email"), confirm or "x"],
        "record_id": list(session.scalars(select(ConsentEvent.record_id))),
        "purpose": ["offers", "birthday", "partners"],
        "channel": ["email", "sms"],
        # Actions that close the request come last, so the others are swept on an open one.
        "action": [
            "assign",
            "details",
            "rectify",
            "extend",
            "export",
            "object",
            "erase",
            "complete",
            "refuse",
        ],
        "filename": ["css/assenso.css", "favicon.svg"],
        "name": ["message.eml"],
    }
    return world
