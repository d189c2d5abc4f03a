"""Integrators' own references for customers, kept as keyed blind indexes (never in clear).

``reference_index`` is ``"v<version>:<64 hex digits>"``: HMAC-SHA256 under the blind-index key
of that version over ``b"assenso.blind-index.reference.v1" NUL | version | NUL | reference``.
The label keeps these tokens apart from the e-mail index computed with the same keys. A
reference is taken exactly as given (it is the integrator's identifier, not a person's text),
1 to 200 characters without control characters.

Webhook messages name the customer by this reference too, so it is also kept sealed under the
customer's own data key (``customers.reference_sealed``, field name ``customer_reference``):
erasure shreds it. :func:`references_for` opens it when messages are sent; the messages of a
customer being erased keep it sealed under the vault's keys instead (:func:`seal_kept`), since
their data key is about to go.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable, Sequence

from sqlalchemy import String, any_, bindparam, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from app.customers.models import Customer
from app.errors import InvalidInput
from app.models_base import dialect_name
from app.runtime import runtime
from app.vault.blind_index import blind_index_candidates
from app.vault.envelope import FieldCipher
from app.vault.errors import VaultError
from app.vault.keyring import KeyRing
from app.vault.keystore import wrapped_keys
from app.vault.sealed import seal, unseal

_LABEL = b"assenso.blind-index.reference.v1\x00"
MAX_REFERENCE = 200
#: The name the sealed reference is bound to (no profile field has it).
REFERENCE_FIELD = "customer_reference"
#: The label of a reference kept for the messages of an erased customer.
KEPT_LABEL = "webhook-reference"
_REFERENCE = re.compile(rf"[^\x00-\x1f\x7f]{{1,{MAX_REFERENCE}}}")


def check_reference(reference: object) -> str:
    """The reference, or ``InvalidInput`` when it is empty, too long or not printable."""
    if not isinstance(reference, str) or not _REFERENCE.fullmatch(reference):
        raise InvalidInput(
            f"A customer reference is 1 to {MAX_REFERENCE} characters, none of them a control "
            "character."
        )
    return reference


def _token(keyring: KeyRing, version: int, reference: str) -> str:
    message = b"%b%d\x00%b" % (_LABEL, version, reference.encode())
    return f"v{version}:{hmac.digest(keyring.key(version), message, hashlib.sha256).hex()}"


def reference_index(reference: str) -> str:
    """The blind index of ``reference`` under the active blind-index key."""
    keyring = runtime().blind_index_keys
    return _token(keyring, keyring.active_version, check_reference(reference))


def _versions(keyring: KeyRing) -> list[int]:
    return [keyring.active_version, *(v for v in keyring.versions if v != keyring.active_version)]


def reference_candidates(reference: str) -> list[str]:
    """The reference's token under every configured key version, active first."""
    keyring = runtime().blind_index_keys
    return [_token(keyring, v, check_reference(reference)) for v in _versions(keyring)]


def find_by_reference(session: Session, reference: str) -> Customer | None:
    """The live customer the integrator knows as ``reference``, or ``None``."""
    return session.scalar(
        select(Customer).where(
            Customer.reference_index.in_(reference_candidates(reference)),
            Customer.erased_at.is_(None),
            Customer.registration_pending.is_(False),
        )
    )


def ids_for(
    session: Session, references: Iterable[str] = (), emails: Iterable[str] = ()
) -> tuple[dict[str, int], dict[str, int]]:
    """Customer ids of live customers by reference and by e-mail, each found in one query.

    Unknown references and addresses (and malformed addresses) are absent from the result.
    """
    keyring = runtime().blind_index_keys
    versions = _versions(keyring)
    by_token: dict[str, str] = {}
    for reference in dict.fromkeys(references):
        check_reference(reference)
        for version in versions:
            by_token[_token(keyring, version, reference)] = reference
    by_email_token: dict[str, str] = {}
    for email in dict.fromkeys(emails):
        try:
            tokens = blind_index_candidates(keyring, email)
        except ValueError:
            continue
        for token in tokens:
            by_email_token[token] = email
    found_refs = _lookup(session, Customer.reference_index, by_token)
    found_emails = _lookup(session, Customer.email_index, by_email_token)
    return found_refs, found_emails


def _matching(session: Session, column, tokens: Sequence[str]):
    """``column IN tokens``: one text array parameter on PostgreSQL (a short statement the
    driver parses once, see :func:`app.models_base.among`), an ``IN`` list elsewhere."""
    if dialect_name(session, column.table) == "postgresql":
        return column == any_(bindparam(None, list(tokens), type_=ARRAY(String)))
    return column.in_(tokens)


def _lookup(session: Session, column, wanted: dict[str, str]) -> dict[str, int]:
    if not wanted:
        return {}
    found: dict[str, int] = {}
    tokens: Sequence[str] = list(wanted)
    for start in range(0, len(tokens), 2000):
        rows = session.execute(
            select(column, Customer.id).where(
                _matching(session, column, tokens[start : start + 2000]),
                Customer.erased_at.is_(None),
                Customer.registration_pending.is_(False),
            )
        )
        for token, customer_id in rows:
            found[wanted[token]] = customer_id
    return found


def _opened(session: Session, condition) -> tuple[dict[str, str], set[str]]:
    """References opened, and the customers whose sealed reference cannot be opened."""
    rows = session.execute(
        select(Customer.id, Customer.ref, Customer.reference_sealed).where(
            condition, Customer.reference_sealed.is_not(None)
        )
    ).all()
    keys = wrapped_keys(session, [row.id for row in rows])
    found: dict[str, str] = {}
    unreadable: set[str] = set()
    for customer_id, ref, blob in rows:
        if customer_id not in keys:
            continue
        try:
            cipher = FieldCipher.open(runtime().vault_keys, ref, keys[customer_id])
            found[ref] = cipher.decrypt(REFERENCE_FIELD, blob)
        except VaultError:
            unreadable.add(ref)
    return found, unreadable


def references_for(
    session: Session, customer_refs: Iterable[str]
) -> tuple[dict[str, str], set[str]]:
    """The integrators' references of these customers (by pseudonymous id), opened with each
    one's data key (customers without one, or being erased, are absent), and the customers
    whose reference is there but cannot be opened (a master key missing, corruption)."""
    wanted = set(customer_refs)
    if not wanted:
        return {}, set()
    return _opened(session, Customer.ref.in_(wanted) & Customer.erasure_requested_at.is_(None))


def seal_kept(session: Session, customer: Customer) -> bytes | None:
    """The customer's reference sealed under the vault's keys for their last messages (read
    by the erasure while their data key still exists); ``None`` when they have none, or when
    it cannot be read any more."""
    found, _unreadable = _opened(session, Customer.id == customer.id)
    if customer.ref not in found:
        return None
    return seal(runtime().vault_keys, KEPT_LABEL, customer.ref, found[customer.ref].encode())


def open_kept(customer_ref: str, blob: bytes) -> str:
    """A reference sealed by :func:`seal_kept`."""
    return unseal(runtime().vault_keys, KEPT_LABEL, customer_ref, blob).decode()
