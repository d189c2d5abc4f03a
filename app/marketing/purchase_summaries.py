"""Each customer's purchases as the offer choice reads them: a compact summary, sealed.

The offer choice needs, of each purchase, only its category and its time. Parsing every
customer's whole purchase history (JSON, validated dates) for each campaign run cost most of
the choice, so a summary is kept beside the history: ``{category: [purchase times]}`` as
JSON, times in Unix seconds (histories hold whole seconds), in the history's order. It is
sealed under the customer's data key through the vault (:mod:`app.vault.derived`), written
when purchases are recorded (:mod:`.purchases`) and, for a history written any other way
(sign-up, rectification, data loaded before summaries existed), made again from the history
the first time the offer choice finds it missing or stale.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from app.marketing.eligibility import HISTORY_FIELD
from app.marketing.value import Purchase, parse_purchases
from app.vault.derived import Sealed, seal_summary
from app.vault.envelope import FieldCipher

log = logging.getLogger("assenso.marketing")

#: ``{category: [purchase times, Unix seconds]}``.
Summary = dict[str, list[int]]
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SECOND = timedelta(seconds=1)


def summary_of(purchases: Sequence[Purchase]) -> Summary:
    """The summary of parsed purchases."""
    summary: Summary = {}
    for purchase in purchases:
        summary.setdefault(purchase.category, []).append((purchase.at - _EPOCH) // _SECOND)
    return summary


def summary_text(raw_history: str) -> str:
    """The summary text of a decrypted ``purchase_history`` value (malformed rows skipped)."""
    summary = summary_of(parse_purchases(raw_history))
    return json.dumps(summary, sort_keys=True, separators=(",", ":"))


def parse_summary(text: str) -> Summary:
    """The summary a sealed summary text holds (empty, with a warning, if it is not one)."""
    try:
        summary = json.loads(text)
    except ValueError:
        summary = None
    if not isinstance(summary, dict):  # sealed by this module: authenticated, so well-formed
        log.warning("offers: a purchase summary is malformed and was read as empty")
        return {}
    return summary


def parse_summaries(texts: Sequence[str | Summary]) -> list[Summary]:
    """:func:`parse_summary` of many texts (summaries already parsed pass through), as one
    JSON document: parsing tiny documents one by one costs more than decrypting them."""
    strings = [text for text in texts if isinstance(text, str)]
    try:
        parsed = json.loads("[" + ",".join(strings) + "]")
    except ValueError:
        parsed = None
    if not (
        isinstance(parsed, list)
        and len(parsed) == len(strings)
        and all(isinstance(summary, dict) for summary in parsed)
    ):
        parsed = [parse_summary(text) for text in strings]
    each = iter(parsed)
    return [text if isinstance(text, dict) else next(each) for text in texts]


def seal_purchase_summary(
    cipher: FieldCipher, customer_id: int, history_blob: bytes, raw_history: str
) -> tuple[Summary, Sealed]:
    """The summary of a customer's decrypted history and its sealed form, made from the
    history ciphertext ``history_blob``."""
    text = summary_text(raw_history)
    return json.loads(text), seal_summary(cipher, customer_id, HISTORY_FIELD, history_blob, text)
