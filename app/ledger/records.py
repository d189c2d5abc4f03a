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
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def record_of(event: Any) -> dict[str, Any]:
    """The canonical record (JSON-ready dict, no floats) of a consent event row or draft."""
    notice = None
    if event.notice_id is not None:
        notice = {
            "id": event.notice_id,
            "version": event.notice_version,
            "sha256": event.notice_hash,
        }
    return {
        "format": RECORD_FORMAT,
        "seq": event.seq,
        "record_id": event.record_id,
        "subject": event.customer_ref,
        "purpose": event.purpose,
        "channel": event.channel,
        "action": event.action,
        "lawful_basis": event.lawful_basis,
        "notice": notice,
        "method": event.method,
        "source": event.source,
        "actor": event.actor,
        "reason": event.reason,
        "jurisdiction": event.jurisdiction,
        "language": event.language,
        "event_time": format_time(event.event_time),
        "expires_at": format_time(event.expires_at),
        "evidence": base64.b64encode(event.evidence).decode() if event.evidence else None,
    }
