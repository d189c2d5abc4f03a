"""Data portability (GDPR Art. 15 and 20): everything held about one customer, as JSON.

The document follows the schema in ``docs/export-schema.md`` (format ``assenso-export/1``).
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.customers.models import Customer
from app.ledger.models import ConsentEvent, ConsentState
from app.ledger.records import format_time, record_of
from app.models_base import utcnow
from app.outbox.models import SendLog, Suppression
from app.vault.models import ContactPreferences, ProfileFieldHistory, VaultAccess
from app.vault.service import open_cipher, read_own_profile, sharing_matrix

EXPORT_FORMAT = "assenso-export/1"


def _profile_history(session: Session, customer: Customer) -> list[dict[str, Any]]:
    cipher = open_cipher(session, customer)
    rows = session.scalars(
        select(ProfileFieldHistory)
        .where(ProfileFieldHistory.customer_id == customer.id)
        .order_by(ProfileFieldHistory.replaced_at)
    )
    return [
        {
            "field": row.field,
            "previous_value": cipher.decrypt(row.field, row.ciphertext),
            "replaced_at": format_time(row.replaced_at),
            "changed_by": row.actor,
            "reason": row.reason,
        }
        for row in rows
    ]


def _consents(session: Session, customer: Customer) -> tuple[list, list]:
    states = [
        {
            "purpose": s.purpose,
            "channel": s.channel,
            "status": s.status,
            "confirmed": s.confirmed,
            "lawful_basis": s.lawful_basis,
            "granted_at": format_time(s.granted_at),
            "expires_at": format_time(s.expires_at),
            "notice_version": s.notice_version,
        }
        for s in session.scalars(
            select(ConsentState).where(ConsentState.customer_id == customer.id)
        )
    ]
    events = [
        record_of(e)
        for e in session.scalars(
            select(ConsentEvent)
            .where(ConsentEvent.customer_ref == customer.ref)
            .order_by(ConsentEvent.seq)
        )
    ]
    return states, events


def _contact(session: Session, customer: Customer) -> dict[str, Any] | None:
    prefs = session.get(ContactPreferences, customer.id)
    if prefs is None:
        return None
    return {
        "windows": json.loads(prefs.windows_json),
        "weekly_cap": prefs.weekly_cap,
        "paused_until": format_time(prefs.paused_until),
        "preferred_channel": prefs.preferred_channel,
    }


def export_customer(session: Session, customer: Customer) -> dict[str, Any]:
    """The machine-readable export of everything held about ``customer``."""
    states, events = _consents(session, customer)
    sharing = sharing_matrix(session, customer.id)
    return {
        "format": EXPORT_FORMAT,
        "generated_at": format_time(utcnow()),
        "customer": {
            "id": customer.ref,
            "jurisdiction": customer.jurisdiction,
            "language": customer.language,
            "timezone": customer.timezone,
            "created_at": format_time(customer.created_at),
            "email_verified": customer.email_verified,
            "phone_verified": customer.phone_verified,
            "objected_to_direct_marketing_at": format_time(customer.objected_at),
        },
        "profile": read_own_profile(session, customer),
        "profile_history": _profile_history(session, customer),
        "sharing": [
            {
                "field": f,
                "purpose": p,
                "shared": row.shared,
                "changed_at": format_time(row.changed_at),
            }
            for (f, p), row in sorted(sharing.items())
        ],
        "consent_state": states,
        "consent_events": events,
        "contact_preferences": _contact(session, customer),
        "suppressions": [
            {"channel": s.channel, "reason": s.reason, "since": format_time(s.created_at)}
            for s in session.scalars(
                select(Suppression).where(Suppression.customer_id == customer.id)
            )
        ],
        "messages_sent": [
            {"channel": m.channel, "purpose": m.purpose, "sent_at": format_time(m.sent_at)}
            for m in session.scalars(
                select(SendLog).where(SendLog.customer_id == customer.id).order_by(SendLog.sent_at)
            )
        ],
        "data_access_log": [
            {
                "at": format_time(a.at),
                "actor": a.actor,
                "purpose": a.purpose,
                "fields": a.fields.split(","),
                "reason": a.reason,
            }
            for a in session.scalars(
                select(VaultAccess)
                .where(VaultAccess.customer_ref == customer.ref)
                .order_by(VaultAccess.at)
            )
        ],
    }
