"""Customers by the integrator's reference: create them, read their preferences."""

from __future__ import annotations

import json

from spectree import Response
from sqlalchemy import select

from app.customers.models import Customer
from app.extensions import db
from app.ledger.models import ConsentState
from app.transaction import transaction
from app.vault.fields import HELD_FIELDS
from app.vault.models import ContactPreferences, SharingChoice
from app.vault.references import find_by_reference
from app.vault.service import log_access, read_own_profile, register_customer
from app.web.access import api_key_required
from app.web.api import bp, spec
from app.web.api.auth import actor, current_key
from app.web.api.customers import resolve_reference
from app.web.api.idempotency import idempotent
from app.web.api.schemas import CustomerCreated, NewCustomer, Preferences
from app.web.problems import ApiProblem


@bp.post("/customers")
@api_key_required("consent:write")
@spec.validate(
    resp=Response(HTTP_201=CustomerCreated), tags=["customers"], force_resp_serialize=True
)
@idempotent
def create_customer(json: NewCustomer):
    """Create a customer with profile fields, language, jurisdiction and time zone.

    Scope `consent:write`. The reference is stored as a keyed blind index (to find the customer
    by) and encrypted under the customer's own key (for the webhooks, which carry it; erasure
    shreds it); profile values are encrypted under that key too. A reference or address in use
    is a 409.
    """
    session = db.session()
    if find_by_reference(session, json.reference) is not None:
        raise ApiProblem(409, "A customer with this reference already exists.")
    customer = register_customer(
        session,
        email=json.email,
        profile=json.profile,
        jurisdiction=json.jurisdiction,
        timezone=json.timezone,
        language=json.language,
        reference=json.reference,
    )
    return {
        "reference": json.reference,
        "customer_id": customer.ref,
        "created_at": customer.created_at,
    }, 201


def _consents(session, customer: Customer) -> list[dict]:
    rows = session.scalars(
        select(ConsentState)
        .where(ConsentState.customer_id == customer.id)
        .order_by(ConsentState.purpose, ConsentState.channel)
    )
    return [
        {
            "purpose": row.purpose,
            "channel": row.channel,
            "status": row.status,
            "granted_at": row.granted_at,
            "expires_at": row.expires_at,
            "notice_version": row.notice_version,
        }
        for row in rows
    ]


def _contact(session, customer: Customer) -> dict:
    row = session.get(ContactPreferences, customer.id)
    if row is None:
        return {"windows": [], "weekly_cap": None, "paused_until": None, "preferred_channel": None}
    return {
        "windows": json.loads(row.windows_json or "[]"),
        "weekly_cap": row.weekly_cap,
        "paused_until": row.paused_until.isoformat() if row.paused_until else None,
        "preferred_channel": row.preferred_channel,
    }


def _sharing(session, customer: Customer) -> dict[str, list[str]]:
    shared: dict[str, list[str]] = {}
    rows = session.execute(
        select(SharingChoice.purpose, SharingChoice.field)
        .where(SharingChoice.customer_id == customer.id, SharingChoice.shared.is_(True))
        .order_by(SharingChoice.purpose, SharingChoice.field)
    )
    for purpose, field in rows:
        shared.setdefault(purpose, []).append(field)
    return shared


@bp.get("/customers/<reference>/preferences")
@api_key_required("decisions:read", "customers:read")
@spec.validate(resp=Response(HTTP_200=Preferences), tags=["customers"], force_resp_serialize=True)
def preferences(reference: str):
    """What the customer allows: consent per purpose and channel, contact limits, what they
    share for which purpose; their profile values too when the key has `customers:read`.

    Scope `decisions:read` or `customers:read`. Written to the vault's access log.
    """
    session = db.session()
    customer = resolve_reference(session, reference)
    with_profile = "customers:read" in current_key().scopes
    profile = read_own_profile(session, customer) if with_profile else None
    read = ["consent_state", "contact_preferences", "sharing_choices"]
    if profile is not None:
        read += sorted(set(profile) & set(HELD_FIELDS))
    answer = {
        "reference": reference,
        "language": customer.language,
        "jurisdiction": customer.jurisdiction,
        "timezone": customer.timezone,
        "objected": customer.objected_at is not None,
        "consents": _consents(session, customer),
        "contact": _contact(session, customer),
        "sharing": _sharing(session, customer),
        "profile": profile,
    }
    with transaction(session):
        log_access(
            session,
            actor=actor(),
            purpose="api_preferences",
            fields=read,
            customer_count=1,
            customer_ref=customer.ref,
            reason="API preferences",
        )
    return answer, 200
