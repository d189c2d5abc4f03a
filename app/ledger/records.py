"""The canonical consent record of a ledger event: what is hashed into the Merkle tree.

``record_of`` is the single definition of a leaf's content. The verifier rebuilds it from the
stored columns, so altering any column of a row changes the leaf hash and is detected.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

RECORD_FORMAT = "assenso-consent-record/1"

ACTIONS = (
    "granted",
    "withdrawn",
    "objected",
    "objection_withdrawn",
    "expired",
    "renewed",
    "double_opt_in_pending",
    "confirmed",
    "cancelled",
)
#: How consent was collected (Kantara "collection method").
METHODS = ("web_form", "one_click", "email_link", "api", "import", "staff", "sms_reply", "system")
#: Where the event came from.
SOURCES = ("portal", "one_click_unsubscribe", "api", "import", "staff", "system", "sms")
LAWFUL_BASES = ("consent", "legitimate_interest", "contract")
#: Purpose and channel of events that concern all direct marketing (objection, erasure).
ALL = "*"


def format_time(moment: datetime | None) -> str | None:
    """RFC 3339 UTC with microseconds, the one time format inside records."""
    if moment is None:
        return None
    moment = moment.astimezone(UTC)
    if moment.year < 1000:  # strftime writes such years unpadded, isoformat pads them
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return moment.isoformat(timespec="microseconds")[:-6] + "Z"  # quicker than strftime


#: The event columns a record is made of, in the order :func:`record_from_values` takes them
#: (the writer relies on the last three being event_time, expires_at and evidence).
RECORD_COLUMNS = (
    "seq",
    "record_id",
    "customer_ref",
    "purpose",
    "channel",
    "action",
    "lawful_basis",
    "notice_id",
    "notice_version",
    "notice_hash",
    "method",
    "source",
    "actor",
    "reason",
    "jurisdiction",
    "language",
    "event_time",
    "expires_at",
    "evidence",
)


def record_of(event: Any) -> dict[str, Any]:
    """The canonical record (JSON-ready dict, no floats) of a consent event row or draft."""
    return record_from_values(*(getattr(event, name) for name in RECORD_COLUMNS))


def record_from_values(
    seq: int,
    record_id: str,
    customer_ref: str,
    purpose: str,
    channel: str,
    action: str,
    lawful_basis: str,
    notice_id: int | None,
    notice_version: int | None,
    notice_hash: str | None,
    method: str,
    source: str,
    actor: str,
    reason: str | None,
    jurisdiction: str,
    language: str,
    event_time: datetime,
    expires_at: datetime | None,
    evidence: bytes | None,
) -> dict[str, Any]:
    """The canonical record from the column values in :data:`RECORD_COLUMNS` order."""
    notice = None
    if notice_id is not None:
        notice = {"id": notice_id, "version": notice_version, "sha256": notice_hash}
    return {
        "format": RECORD_FORMAT,
        "seq": seq,
        "record_id": record_id,
        "subject": customer_ref,
        "purpose": purpose,
        "channel": channel,
        "action": action,
        "lawful_basis": lawful_basis,
        "notice": notice,
        "method": method,
        "source": source,
        "actor": actor,
        "reason": reason,
        "jurisdiction": jurisdiction,
        "language": language,
        "event_time": format_time(event_time),
        "expires_at": format_time(expires_at),
        "evidence": base64.b64encode(evidence).decode() if evidence else None,
    }
