"""Move settings that older releases also kept as encrypted profile fields onto the account.

Older releases also offered the language and the time zone as profile fields on "My data",
where a change was stored but never used. Such a value is the customer's latest explicit
choice, so it becomes the account's setting; then the profile copy and its history are
deleted, and so are the time zone's sharing choices (it is no profile field any more; the
language stays one, held on the account, since a purpose may let its messages use it).
Values are encrypted under each customer's own key, so this runs as a command with the keys
(``flask vault move-settings``) rather than as a schema migration. It works in batches, each
its own transaction, and only ever finds rows not moved yet: resumable, safe to run again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from app.customers.models import Customer
from app.errors import InvalidInput
from app.transaction import transaction
from app.vault.errors import VaultError
from app.vault.models import ProfileField, ProfileFieldHistory, SharingChoice
from app.vault.service import CustomerErased, open_cipher
from app.vault.settings import (
    FORMER_PROFILE_FIELDS,
    SETTINGS_IN_PROFILES,
    check_language,
    check_timezone,
)

Progress = Callable[[int], None]

#: How each former profile field is checked and applied to the account.
CHECKS: dict[str, Callable[[object], str]] = {
    "language": check_language,
    "timezone": check_timezone,
}


@dataclass
class MoveReport:
    """What ``move_settings`` did, in counts (never values)."""

    applied: int = 0
    already_set: int = 0
    discarded: int = 0
    unreadable: int = 0
    customers: int = 0


def waiting(session: Session) -> int:
    """How many profile values of former settings fields are still to be moved."""
    query = select(func.count()).where(ProfileField.field.in_(SETTINGS_IN_PROFILES))
    return session.scalar(query) or 0


def move_settings(
    session: Session, batch_size: int = 500, progress: Progress | None = None
) -> MoveReport:
    """Apply every profile copy of a setting to its account, then delete the copies."""
    report = MoveReport()
    after = 0
    while True:
        with transaction(session):
            ids = session.scalars(
                select(ProfileField.customer_id)
                .where(
                    ProfileField.field.in_(SETTINGS_IN_PROFILES),
                    ProfileField.customer_id > after,
                )
                .group_by(ProfileField.customer_id)
                .order_by(ProfileField.customer_id)
                .limit(batch_size)
            ).all()
            for customer_id in ids:
                _move_one(session, customer_id, report)
        report.customers += len(ids)
        if progress and ids:
            progress(report.customers)
        if len(ids) < batch_size:
            break
        after = ids[-1]
    with transaction(session):
        _forget_former_fields(session)
    return report


def _move_one(session: Session, customer_id: int, report: MoveReport) -> None:
    """Apply one customer's profile copies (locked against a concurrent settings change)."""
    customer = session.get_one(Customer, customer_id, with_for_update=True)
    rows = session.scalars(
        select(ProfileField).where(
            ProfileField.customer_id == customer_id,
            ProfileField.field.in_(SETTINGS_IN_PROFILES),
        )
    ).all()
    try:
        cipher = open_cipher(session, customer)
        values = {row.field: cipher.decrypt(row.field, row.ciphertext) for row in rows}
    except CustomerErased:
        values = {}  # the key is gone: nothing can be read, the rows are only noise
        report.discarded += len(rows)
    except VaultError:
        report.unreadable += len(rows)  # a key version missing here: left for a later run
        return
    for name, value in values.items():
        _apply(customer, name, value, report)
    for row in rows:
        session.delete(row)


def _apply(customer: Customer, field: str, value: str, report: MoveReport) -> None:
    """Set the account's setting to ``value`` when it is valid."""
    try:
        clean = CHECKS[field](value)
    except InvalidInput:
        report.discarded += 1
        return
    if getattr(customer, field) == clean:
        report.already_set += 1
    else:
        setattr(customer, field, clean)
        report.applied += 1


def _forget_former_fields(session: Session) -> None:
    """Delete the profile history of settings, and sharing choices of former fields (no keys)."""
    history = ProfileFieldHistory.field.in_(SETTINGS_IN_PROFILES)
    session.execute(delete(ProfileFieldHistory).where(history))
    session.execute(delete(SharingChoice).where(SharingChoice.field.in_(FORMER_PROFILE_FIELDS)))
