"""Consent events before they are appended: what an event records and which words it may use."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from datetime import datetime
from itertools import product
from operator import attrgetter
from typing import Any

from app.ledger.records import (
    ACTIONS,
    LAWFUL_BASES,
    METHODS,
    RECORD_COLUMNS,
    SOURCES,
)
from app.models_base import utcnow


class LedgerError(ValueError):
    """An event draft is not a valid consent record."""


def new_record_id() -> str:
    """A new record id: a UUIDv7 (RFC 9562 §5.7), random but ordered by creation time.

    Time-ordered ids keep the unique index on record ids growing at its right edge, so an
    append touches one index page instead of a random one.
    """
    value = (time.time_ns() // 1_000_000) << 80 | int.from_bytes(os.urandom(10), "big")
    value = (value & ~(0xF << 76)) | (0x7 << 76)  # version 7
    value = (value & ~(0x3 << 62)) | (0x2 << 62)  # variant 10
    text = f"{value:032x}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


@dataclass
class EventDraft:
    """Everything a consent event records; ``seq`` is set when it is appended."""

    customer_ref: str
    purpose: str
    channel: str
    action: str
    lawful_basis: str
    method: str
    source: str
    actor: str
    jurisdiction: str
    language: str
    notice_id: int | None = None
    notice_version: int | None = None
    notice_hash: str | None = None
    reason: str | None = None
    expires_at: datetime | None = None
    evidence: bytes | None = None
    event_time: datetime = field(default_factory=utcnow)
    record_id: str = field(default_factory=new_record_id)
    seq: int = -1

    def check(self) -> None:
        """Refuse drafts with unknown vocabulary or a staff action without a reason."""
        try:
            known = (self.action, self.method, self.source, self.lawful_basis) in _KNOWN
        except TypeError:  # an unhashable value: certainly not a known word
            known = False
        if not known:
            for name, allowed in (
                ("action", ACTIONS),
                ("method", METHODS),
                ("source", SOURCES),
                ("lawful_basis", LAWFUL_BASES),
            ):
                if getattr(self, name) not in allowed:
                    raise LedgerError(f"unknown {name} {getattr(self, name)!r}")
        if self.source == "staff" and not (self.reason and self.reason.strip()):
            raise LedgerError("staff acting on a customer's behalf must give a reason")

    def values(self) -> tuple[Any, ...]:
        """The event's column values in :data:`~app.ledger.records.RECORD_COLUMNS` order."""
        return _column_values(self)


_column_values = attrgetter(*RECORD_COLUMNS)

# Every valid (action, method, source, lawful basis): one set lookup checks a draft.
_KNOWN = frozenset(product(ACTIONS, METHODS, SOURCES, LAWFUL_BASES))
