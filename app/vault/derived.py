"""Summaries derived from an encrypted profile field, sealed under the customer's data key.

A model that reads one field of every customer (the offer choice reads each purchase history)
may keep a compact summary of it beside the field, so that it need not parse the whole value
every time. The summary is personal data like the field it comes from, so it is held as the
field is: AES-GCM under the customer's own data key (crypto-shredding at erasure makes it
unreadable, and erasure deletes the row), under its own name in the AAD
(``<field>.summary``), so a summary never opens as the field or as another customer's.

Each summary names its *source*: the nonce of the field ciphertext it was made from. Every
sealing of a field draws a fresh random nonce, so whoever rewrites the field (a purchase
recorded, a rectification, a new sign-up) makes the summary stale without having to know of
it; a reader compares the two (:func:`source_matches`, in SQL) and uses the field itself when
they differ. Only the writer of a summary knows its format.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import cast

from sqlalchemy import ColumnElement, Table, func
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from app.models_base import dialect_name, utcnow
from app.vault.envelope import FIELD_OVERHEAD, KEY_ID_BYTES, NONCE_BYTES, FieldCipher
from app.vault.errors import VaultError
from app.vault.models import FieldSummary

#: Summaries written per statement.
BATCH = 5000
_NONCE_START = 1 + KEY_ID_BYTES  # after the format byte and the key id

#: ``(customer id, source, ciphertext)`` of one summary.
Sealed = tuple[int, bytes, bytes]


def summary_name(field: str) -> str:
    """The name a summary of ``field`` is sealed under (bound in the AAD)."""
    return f"{field}.summary"


def source_of(field_blob: bytes) -> bytes:
    """The source of a summary made from the field ciphertext ``field_blob``: its nonce."""
    if len(field_blob) < FIELD_OVERHEAD:
        raise VaultError("not a field ciphertext")
    return field_blob[_NONCE_START : _NONCE_START + NONCE_BYTES]


def source_matches(summary_source, field_ciphertext) -> ColumnElement[bool]:
    """SQL: the summary was made from this field ciphertext (same nonce; SQL counts from 1)."""
    return summary_source == func.substr(field_ciphertext, _NONCE_START + 1, NONCE_BYTES)


def seal_summary(
    cipher: FieldCipher, customer_id: int, field: str, field_blob: bytes, text: str
) -> Sealed:
    """The summary ``text`` of the field ciphertext ``field_blob``, sealed for storing."""
    return customer_id, source_of(field_blob), cipher.encrypt(summary_name(field), text)


def open_summary(cipher: FieldCipher, field: str, blob: bytes) -> str:
    """The text of a summary of ``field`` (raises ``DecryptionError`` like any field)."""
    return cipher.decrypt(summary_name(field), blob)


def store_summaries(session: Session, field: str, sealed: Sequence[Sealed]) -> None:
    """Write (or replace) the summaries of ``field``, in the caller's transaction."""
    table = cast(Table, FieldSummary.__table__)
    insert = pg_insert if dialect_name(session, table) == "postgresql" else sqlite_insert
    now = utcnow()
    for start in range(0, len(sealed), BATCH):
        statement = insert(table)
        statement = statement.on_conflict_do_update(
            index_elements=[table.c.customer_id, table.c.field],
            set_={
                "source": statement.excluded.source,
                "ciphertext": statement.excluded.ciphertext,
                "updated_at": statement.excluded.updated_at,
            },
        )
        session.execute(statement, _rows(sealed[start : start + BATCH], field, now))


def _rows(sealed: Iterable[Sealed], field: str, now) -> list[dict]:
    return [
        {
            "customer_id": cid,
            "field": field,
            "source": source,
            "ciphertext": blob,
            "updated_at": now,
        }
        for cid, source, blob in sealed
    ]
