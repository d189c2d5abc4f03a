"""The customer's own data: every field held, its history, and sharing per purpose.

Forms carry a fingerprint of what they showed (field versions, sharing choices); a save made
against a fingerprint that no longer matches is refused, so two tabs never overwrite each
other's changes without the customer seeing it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.customers.models import Customer
from app.errors import Conflict, InvalidInput
from app.policy_sets.in_force import policy_for
from app.vault.fields import FIELDS, HELD_FIELDS, field_spec
from app.vault.models import ProfileField, ProfileFieldHistory
from app.vault.service import (
    open_cipher,
    read_own_profile,
    set_sharing,
    sharing_matrix,
    update_field,
    validate_profile,
)

#: Fields the customer edits as text; purchase history is shown but comes from orders, and the
#: language is a setting of the account, changed with the time zone.
EDITABLE = tuple(name for name in HELD_FIELDS if name != "purchase_history")

STALE = "This page was changed in another window. Reload it to see the current values."


class ProfileErrors(InvalidInput):
    """Some submitted values are invalid; ``errors`` maps field name to a message."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        self.errors = dict(errors)
        super().__init__("Please correct the highlighted fields.")


@dataclass(frozen=True)
class PreviousValue:
    """A value the field held before a rectification."""

    field: str
    value: str
    replaced_at: datetime
    actor: str


def _digest(parts: Iterable[str]) -> str:
    return hashlib.sha256("\n".join(sorted(parts)).encode()).hexdigest()[:32]


def profile_fingerprint(session: Session, customer: Customer) -> str:
    """A digest of every field's version and change time."""
    rows = session.execute(
        select(ProfileField.field, ProfileField.version, ProfileField.updated_at).where(
            ProfileField.customer_id == customer.id
        )
    )
    return _digest(f"{f}:{v}:{u.isoformat()}" for f, v, u in rows)


def sharing_fingerprint(session: Session, customer: Customer) -> str:
    """A digest of every recorded sharing choice."""
    matrix = sharing_matrix(session, customer.id)
    return _digest(f"{f}:{p}:{row.shared}" for (f, p), row in matrix.items())


def profile_history(session: Session, customer: Customer) -> list[PreviousValue]:
    """Previous values of every field, newest first, decrypted for the customer."""
    cipher = open_cipher(session, customer)
    rows = session.scalars(
        select(ProfileFieldHistory)
        .where(ProfileFieldHistory.customer_id == customer.id)
        .order_by(ProfileFieldHistory.replaced_at.desc(), ProfileFieldHistory.id.desc())
    )
    return [
        PreviousValue(
            row.field, cipher.decrypt(row.field, row.ciphertext), row.replaced_at, row.actor
        )
        for row in rows
    ]


def save_profile(
    session: Session, customer: Customer, submitted: Mapping[str, str], fingerprint: str
) -> list[str]:
    """Rectify every changed field (history kept); returns the names of the changed fields."""
    if fingerprint != profile_fingerprint(session, customer):
        raise Conflict(STALE)
    current = read_own_profile(session, customer)
    changed = {
        name: (submitted.get(name) or "").strip()
        for name in EDITABLE
        if (submitted.get(name) or "").strip() != current.get(name, "")
    }
    errors = {}
    for name, value in changed.items():
        if not value and field_spec(name).required_for_account:
            errors[name] = "This field cannot be empty."
            continue
        try:
            validate_profile({name: value})
        except InvalidInput as exc:
            errors[name] = str(exc).partition(": ")[2] or str(exc)
    if errors:
        raise ProfileErrors(errors)
    for name, value in changed.items():
        update_field(session, customer, name, value, actor="customer")
    return sorted(changed)


def sharing_grid(customer: Customer) -> list[tuple[str, list[str]]]:
    """Per purpose of the customer's policy, the fields it may use, in catalogue order."""
    policy = policy_for(customer.jurisdiction)
    if policy is None:
        return []
    return [
        (purpose.id, [name for name in FIELDS if name in purpose.fields])
        for purpose in policy.purposes.values()
    ]


def save_sharing(
    session: Session, customer: Customer, shared: set[tuple[str, str]], fingerprint: str
) -> int:
    """Record shared/not shared for every field x purpose of the grid; returns changes."""
    if fingerprint != sharing_fingerprint(session, customer):
        raise Conflict(STALE)
    choices = {
        (name, purpose): (name, purpose) in shared
        for purpose, names in sharing_grid(customer)
        for name in names
    }
    return set_sharing(session, customer, choices)
