"""Vault services: register customers, read fields for a purpose, rectify, share.

Every read of personal data goes through :func:`read_fields`, which takes the purpose and the
actor, refuses fields the customer has not shared for that purpose, and writes the access log.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.customers.models import Customer
from app.errors import Conflict, InvalidInput
from app.models_base import utcnow
from app.policy.document import JURISDICTION_CODE
from app.policy_sets.in_force import known_purposes
from app.runtime import runtime
from app.transaction import transaction
from app.vault.blind_index import blind_index, blind_index_candidates
from app.vault.changes import SHARING, record_change
from app.vault.envelope import FieldCipher, WrappedKey
from app.vault.errors import FieldValidationError, UnknownFieldError
from app.vault.fields import FIELDS, HELD_FIELDS, field_spec
from app.vault.models import (
    CustomerKey,
    ProfileField,
    ProfileFieldHistory,
    SharingChoice,
    VaultAccess,
)
from app.vault.references import reference_index
from app.vault.registration import create_customer
from app.vault.settings import check_language, check_timezone
from app.webhooks.outbox import enqueue


class FieldNotShared(InvalidInput):
    """A field was asked for a purpose the customer has not shared it for."""

    status = 403

    def __init__(self, fields: Iterable[str], purpose: str) -> None:
        self.fields = sorted(fields)
        self.purpose = purpose
        super().__init__(
            f"Not shared for purpose {purpose!r}: {', '.join(self.fields)}. "
            "The customer has not agreed to this use."
        )


class CustomerErased(Conflict):
    """The customer's data was erased; nothing of theirs can be read or changed."""


def validate_profile(values: Mapping[str, object]) -> dict[str, str]:
    """Normalise every value; raises ``InvalidInput`` naming the field (never the value).

    Settings of the account (the language) are refused: they are changed with the account's
    settings (:mod:`app.vault.settings`), never held twice.
    """
    for name in values:
        if name in FIELDS and name not in HELD_FIELDS:
            raise InvalidInput(f"{field_spec(name).label_en} is a setting of the account.")
    return {
        name: _validate_field(name, value)
        for name, value in values.items()
        if value is not None and value != ""
    }


def _validate_field(name: str, value: object) -> str:
    try:
        return field_spec(name).normalise_and_validate(value)
    except UnknownFieldError as exc:
        raise InvalidInput(str(exc)) from None
    except FieldValidationError as exc:
        raise InvalidInput(f"{field_spec(name).label_en}: {exc.message}") from None


def validate_settings(jurisdiction: str, timezone: str, language: str) -> tuple[str, str, str]:
    """Check a customer's operational settings; raises ``InvalidInput`` naming the bad one."""
    code = jurisdiction.strip().upper() if isinstance(jurisdiction, str) else ""
    if not JURISDICTION_CODE.fullmatch(code):
        raise InvalidInput("Jurisdiction: use a two-letter ISO 3166-1 code such as IT or US.")
    return code, check_timezone(timezone), check_language(language)


def register_customer(
    session: Session,
    *,
    email: str,
    profile: Mapping[str, object] | None = None,
    password_hash: str | None = None,
    jurisdiction: str = "EU",
    timezone: str = "Europe/Rome",
    language: str = "en",
    age_attested: int | None = None,
    reference: str | None = None,
) -> Customer:
    """Create a customer with a fresh data key and their encrypted profile.

    ``reference`` is an integrator's own reference for the customer, when an integrator creates
    them: kept as a blind index to find them by, and sealed under their data key for the
    webhooks (:mod:`app.vault.references`).

    Refuses a second account for the same e-mail address (found through the blind index), and
    a jurisdiction, time zone or language that is not well formed. The writes to the main
    database and the key store are ordered so that an interruption is undone
    (:mod:`app.vault.registration`).
    """
    clean = validate_profile({**(profile or {}), "email": email})
    jurisdiction, timezone, language = validate_settings(jurisdiction, timezone, language)
    settings = {
        "password_hash": password_hash,
        "jurisdiction": jurisdiction,
        "timezone": timezone,
        "language": language,
        "age_attested": age_attested,
        "reference_index": None if reference is None else reference_index(reference),
    }
    return create_customer(session, clean, settings, reference)


def open_cipher(session: Session, customer: Customer) -> FieldCipher:
    """The customer's field cipher (unwrapping their data key); refuses erased customers and
    those whose erasure has been asked for."""
    if customer.erasure_requested_at is not None and customer.erased_at is None:
        raise CustomerErased("This customer's data is being erased and can no longer be read.")
    key = session.get(CustomerKey, customer.id)
    if key is None or customer.erased_at is not None:
        raise CustomerErased("This customer's data was erased and can no longer be read.")
    return FieldCipher.open(
        runtime().vault_keys, customer.ref, WrappedKey(key.kek_version, key.wrapped_key)
    )


def shared_fields(session: Session, customer_id: int, purpose: str) -> set[str]:
    """The fields the customer shares for ``purpose``."""
    rows = session.scalars(
        select(SharingChoice.field).where(
            SharingChoice.customer_id == customer_id,
            SharingChoice.purpose == purpose,
            SharingChoice.shared.is_(True),
        )
    )
    return set(rows)


def log_access(
    session: Session,
    *,
    actor: str,
    purpose: str,
    fields: Iterable[str],
    customer_count: int,
    customer_ref: str | None = None,
    reason: str | None = None,
) -> VaultAccess:
    """Write one access-log entry (in the caller's transaction) and return it."""
    entry = VaultAccess(
        actor=actor,
        purpose=purpose,
        fields=",".join(sorted(fields)),
        customer_count=customer_count,
        customer_ref=customer_ref,
        reason=reason,
    )
    session.add(entry)
    return entry


def read_fields(
    session: Session,
    customer: Customer,
    *,
    purpose: str,
    fields: Iterable[str],
    actor: str,
    reason: str | None = None,
) -> dict[str, str]:
    """Decrypt ``fields`` of one customer for ``purpose``; every field must be shared for it."""
    wanted = set(fields)
    unknown = wanted - FIELDS.keys()
    if unknown:
        raise InvalidInput(f"unknown profile field {sorted(unknown)[0]!r}")
    missing = wanted - shared_fields(session, customer.id, purpose)
    if missing:
        raise FieldNotShared(missing, purpose)
    cipher = open_cipher(session, customer)
    rows = session.scalars(
        select(ProfileField).where(
            ProfileField.customer_id == customer.id, ProfileField.field.in_(wanted)
        )
    )
    values = {row.field: cipher.decrypt(row.field, row.ciphertext) for row in rows}
    values |= {name: getattr(customer, name) for name in wanted - set(HELD_FIELDS)}
    with transaction(session):
        log_access(
            session,
            actor=actor,
            purpose=purpose,
            fields=wanted,
            customer_count=1,
            customer_ref=customer.ref,
            reason=reason,
        )
    return values


def read_own_profile(session: Session, customer: Customer) -> dict[str, str]:
    """Everything held about the signed-in customer, for their own eyes (data access)."""
    cipher = open_cipher(session, customer)
    rows = session.scalars(select(ProfileField).where(ProfileField.customer_id == customer.id))
    return {row.field: cipher.decrypt(row.field, row.ciphertext) for row in rows}


def update_field(
    session: Session,
    customer: Customer,
    field: str,
    value: object,
    *,
    actor: str,
    reason: str | None = None,
) -> None:
    """Rectify one field; the previous value is kept, encrypted, in the history."""
    if actor != "customer" and not (reason and reason.strip()):
        raise InvalidInput("Staff must give a reason for changing a customer's data.")
    clean = validate_profile({field: value})
    cipher = open_cipher(session, customer)
    with transaction(session):
        row = session.get(ProfileField, (customer.id, field))
        if field == "email":
            _reindex_email(session, customer, clean.get("email"))
        if row is not None:
            session.add(
                ProfileFieldHistory(
                    customer_id=customer.id,
                    field=field,
                    ciphertext=row.ciphertext,
                    actor=actor,
                    reason=reason,
                )
            )
        if field not in clean:
            if field_spec(field).required_for_account:
                raise InvalidInput(f"{field_spec(field).label_en} is required for an account.")
            if row is not None:
                session.delete(row)
            return
        if row is None:
            row = ProfileField(customer_id=customer.id, field=field, ciphertext=b"")
            session.add(row)
        else:
            row.version += 1
        row.ciphertext = cipher.encrypt(field, clean[field])
        row.updated_at = utcnow()


def _reindex_email(session: Session, customer: Customer, email: str | None) -> None:
    keys = runtime().blind_index_keys
    if email is None:
        raise InvalidInput("E-mail address is required for an account.")
    index = blind_index(keys, email)
    taken = session.scalar(
        select(Customer.id).where(
            Customer.email_index.in_(blind_index_candidates(keys, email)),
            Customer.id != customer.id,
        )
    )
    if taken:
        raise Conflict("Another account already uses this e-mail address.")
    customer.email_index = index
    customer.email_verified = False


def set_sharing(
    session: Session,
    customer: Customer,
    choices: Mapping[tuple[str, str], bool],
    actor: str = "customer",
) -> int:
    """Record the customer's sharing choices ``{(field, purpose): shared}``; returns changes
    (each set of changes is also kept in the customer's history)."""
    purposes = set(known_purposes())
    for field, purpose in choices:
        if field not in FIELDS:
            raise InvalidInput(f"unknown profile field {field!r}")
        if purpose not in purposes:
            raise InvalidInput(f"unknown purpose {purpose!r}")
    changed: list[list[str | bool]] = []
    now = utcnow()
    with transaction(session):
        existing = {
            (row.field, row.purpose): row
            for row in session.scalars(
                select(SharingChoice).where(SharingChoice.customer_id == customer.id)
            )
        }
        for (field, purpose), shared in choices.items():
            row = existing.get((field, purpose))
            if row is None:
                session.add(
                    SharingChoice(
                        customer_id=customer.id,
                        field=field,
                        purpose=purpose,
                        shared=bool(shared),
                        changed_at=now,
                    )
                )
                changed.append([field, purpose, bool(shared)])
            elif row.shared != bool(shared):
                row.shared, row.changed_at = bool(shared), now
                changed.append([field, purpose, bool(shared)])
        if changed:
            record_change(session, customer.id, SHARING, {"choices": changed}, actor)
            enqueue(session, "preferences.changed", customer.ref, {"changed": ["sharing"]})
    return len(changed)


def sharing_matrix(session: Session, customer_id: int) -> dict[tuple[str, str], SharingChoice]:
    """The customer's recorded sharing choices keyed by (field, purpose)."""
    rows = session.scalars(select(SharingChoice).where(SharingChoice.customer_id == customer_id))
    return {(row.field, row.purpose): row for row in rows}
