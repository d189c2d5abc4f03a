"""Who a batch goes to: bulk unwrap of data keys and decryption of only the permitted fields.

Fields a template requires were checked as shared by the send-time re-check; fields it uses
with a fallback are decrypted only for customers who share them for the entry's purpose (the
others get the fallback, and their value is never read). One vault access-log entry is written
per purpose in the batch (not per field or customer).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.customers.models import Customer
from app.delivery.template_book import TemplateBook
from app.ledger.models import ConsentState
from app.models_base import among
from app.runtime import runtime
from app.transaction import transaction
from app.vault.envelope import FieldCipher, WrappedKey
from app.vault.errors import VaultError
from app.vault.models import CustomerKey, ProfileField, SharingChoice, VaultAccess
from app.vault.service import log_access

#: The profile field that holds each channel's address.
ADDRESS_FIELDS = {"email": "email", "sms": "phone"}


@dataclass(frozen=True, slots=True)
class Recipient:
    """One entry's recipient: pseudonymous ref, language, address and permitted field values."""

    customer_ref: str
    language: str
    jurisdiction: str
    address: str | None
    fields: dict[str, str]
    granted_at: datetime | None


def _wanted(
    session: Session, entries: Sequence, templates: TemplateBook
) -> dict[int, frozenset[str]]:
    """The fields each entry's message is rendered with: the required ones, and those with a
    fallback that its customer shares for the entry's purpose."""
    optional = {
        entry.id: templates.fallback_fields(entry.campaign_id, entry.variant) for entry in entries
    }
    shared = _shared(session, entries, set().union(*optional.values()) if optional else set())
    return {
        entry.id: templates.fields(entry.campaign_id, entry.variant)
        | frozenset(
            f for f in optional[entry.id] if (entry.customer_id, entry.purpose, f) in shared
        )
        for entry in entries
    }


def _shared(session: Session, entries: Sequence, fields: set[str]) -> set[tuple[int, str, str]]:
    """``(customer id, purpose, field)`` of ``fields`` shared now by the entries' customers."""
    if not fields:
        return set()
    rows = session.connection().execute(
        select(SharingChoice.customer_id, SharingChoice.purpose, SharingChoice.field).where(
            among(session, SharingChoice.customer_id, sorted({e.customer_id for e in entries})),
            SharingChoice.field.in_(sorted(fields)),
            SharingChoice.shared.is_(True),
        )
    )
    return {(cid, purpose, field) for cid, purpose, field in rows}


def _needs(entries: Sequence, wanted: dict[int, frozenset[str]]) -> dict[int, set[str]]:
    needed: dict[int, set[str]] = defaultdict(set)
    for entry in entries:
        needed[entry.customer_id] |= wanted[entry.id]
        needed[entry.customer_id].add(ADDRESS_FIELDS.get(entry.channel, entry.channel))
    return needed


def _ciphers(session: Session, customer_ids: list[int]) -> dict[int, tuple[tuple, FieldCipher]]:
    """Unwrap the data keys of ``customer_ids`` (keys may live in a separate key store)."""
    keyring = runtime().vault_keys
    people = {
        cid: (ref, language, jurisdiction)
        for cid, ref, language, jurisdiction in session.connection().execute(
            select(Customer.id, Customer.ref, Customer.language, Customer.jurisdiction).where(
                among(session, Customer.id, customer_ids), Customer.erased_at.is_(None)
            )
        )
    }
    keys = session.execute(
        select(CustomerKey.customer_id, CustomerKey.kek_version, CustomerKey.wrapped_key).where(
            among(session, CustomerKey.customer_id, people)
        )
    )
    found = {}
    for cid, version, blob in keys:
        try:
            cipher = FieldCipher.open(keyring, people[cid][0], WrappedKey(version, blob))
        except VaultError:
            continue  # unreadable key: treated like an erased customer, never sent blank
        found[cid] = (people[cid], cipher)
    return found


def load_recipients(
    session: Session, entries: Sequence, templates: TemplateBook, actor: str
) -> dict[int, Recipient]:
    """Recipients by entry id; an entry missing here cannot be sent (erased or unreadable)."""
    wanted_by_entry = _wanted(session, entries, templates)
    needed = _needs(entries, wanted_by_entry)
    ciphers = _ciphers(session, sorted(needed))
    all_fields = set().union(*needed.values()) if needed else set()
    values: dict[int, dict[str, str]] = defaultdict(dict)
    rows = session.connection().execute(
        select(ProfileField.customer_id, ProfileField.field, ProfileField.ciphertext).where(
            among(session, ProfileField.customer_id, ciphers), ProfileField.field.in_(all_fields)
        )
    )
    for cid, name, blob in rows:
        if name in needed[cid]:
            values[cid][name] = ciphers[cid][1].decrypt(name, blob)
    granted = _granted_at(session, entries)
    recipients = {}
    for entry in entries:
        if entry.customer_id not in ciphers:
            continue
        (ref, language, jurisdiction), _ = ciphers[entry.customer_id]
        held = values[entry.customer_id] | {"language": language}  # a setting of the account
        wanted = wanted_by_entry[entry.id]
        recipients[entry.id] = Recipient(
            ref,
            language,
            jurisdiction,
            held.get(ADDRESS_FIELDS.get(entry.channel, entry.channel)),
            {k: v for k, v in held.items() if k in wanted},
            granted.get((entry.customer_id, entry.purpose, entry.channel)),
        )
    _log(session, entries, needed, actor)
    return recipients


def personalised_fields(
    entries: Sequence, templates: TemplateBook, recipients: dict[int, Recipient]
) -> dict[int, frozenset[str]]:
    """By entry id, the fields with a fallback its message is rendered with the customer's
    own value (the hand-over re-check requires them to be still shared)."""
    found = {}
    for entry in entries:
        recipient = recipients.get(entry.id)
        if recipient is not None:
            fallback = templates.fallback_fields(entry.campaign_id, entry.variant)
            filled = fallback & recipient.fields.keys()
            if filled:
                found[entry.id] = frozenset(filled)
    return found


def _granted_at(session: Session, entries: Sequence) -> dict[tuple[int, str, str], datetime | None]:
    keys = {(e.customer_id, e.purpose, e.channel) for e in entries}
    if not keys:
        return {}
    # By customer id (indexed on both engines), then narrowed in Python: a row-value IN list
    # is not index-assisted on SQLite and would scan the whole consent state per batch.
    result = session.connection().execute(
        select(
            ConsentState.customer_id,
            ConsentState.purpose,
            ConsentState.channel,
            ConsentState.granted_at,
        ).where(among(session, ConsentState.customer_id, sorted({key[0] for key in keys})))
    )
    rows = [row for row in result if (row[0], row[1], row[2]) in keys]
    return {(c, p, ch): at for c, p, ch, at in rows}


def _log(session: Session, entries: Sequence, needed: dict[int, set[str]], actor: str) -> None:
    """One access-log entry per campaign run (its count grows batch by batch); one per batch
    and purpose for messages outside a run (transactional)."""
    groups: dict[tuple[int | None, str], set[int]] = defaultdict(set)
    for entry in entries:
        groups[(entry.run_id, entry.purpose)].add(entry.customer_id)
    with transaction(session):
        for (run_id, purpose), customers in sorted(
            groups.items(), key=lambda g: (g[0][0] or 0, g[0][1])
        ):
            fields = set().union(*(needed[c] for c in customers))
            if run_id is not None and _add_to_run_entry(
                session, run_id, purpose, fields, len(customers)
            ):
                continue
            log_access(
                session,
                actor=f"delivery:run:{run_id}" if run_id is not None else actor,
                purpose=purpose,
                fields=fields,
                customer_count=len(customers),
                reason="message delivery",
            )


def _add_to_run_entry(
    session: Session, run_id: int, purpose: str, fields: set[str], count: int
) -> bool:
    """Add customers (and any new fields) to the run's entry; False when there is none yet."""
    entry = session.scalar(
        select(VaultAccess)
        .where(VaultAccess.actor == f"delivery:run:{run_id}", VaultAccess.purpose == purpose)
        .with_for_update()
    )
    if entry is None:
        return False
    entry.customer_count += count
    entry.fields = ",".join(sorted(set(entry.fields.split(",")) | fields))
    return True
