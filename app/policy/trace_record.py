"""The rule-by-rule trace of a decision as stored bytes: compact, versioned, exact.

A stored trace is zlib-compressed compact JSON (``assenso-decision-trace/1``)::

    {"v": 1, "o": outcome, "r": rule id, "h": policy SHA-256, "x": explanation,
     "u": defer-until (RFC 3339) or null,
     "t": [[rule id, "p" | "f" | "s", message], ...]}

Statuses are one letter (passed, failed, skipped); every message is kept word for word, so the
trace shown later is exactly the one the engine produced. About 20 rules compress to a few
hundred bytes. A worker's batch holds few distinct traces (customers in the same situation are
judged alike, word for word), so encodings are kept in a small cache keyed by the decision.
"""

from __future__ import annotations

import json
import zlib
from datetime import datetime
from functools import lru_cache

from app.policy.decision import FAILED, PASSED, SKIPPED, Decision, RuleResult

TRACE_VERSION = 1
_LETTER = {PASSED: "p", FAILED: "f", SKIPPED: "s"}
_STATUS = {letter: status for status, letter in _LETTER.items()}
_JSON = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


@lru_cache(maxsize=1024)
def encode_decision(decision: Decision) -> bytes:
    """The decision and its trace as stored bytes."""
    document = {
        "v": TRACE_VERSION,
        "o": decision.outcome,
        "r": decision.rule_id,
        "h": decision.policy_hash,
        "x": decision.explanation,
        "u": decision.defer_until.isoformat() if decision.defer_until else None,
        "t": [[r.rule_id, _LETTER[r.status], r.message] for r in decision.trace],
    }
    return zlib.compress(_JSON.encode(document).encode(), 6)


def decode_decision(data: bytes) -> Decision:
    """The decision stored by :func:`encode_decision`; ``ValueError`` for anything else."""
    try:
        document = json.loads(zlib.decompress(data))
    except (zlib.error, ValueError, TypeError):
        raise ValueError("not a stored decision trace") from None
    if not isinstance(document, dict) or document.get("v") != TRACE_VERSION:
        raise ValueError("unknown version of a stored decision trace")
    trace = tuple(RuleResult(rule, _STATUS[letter], text) for rule, letter, text in document["t"])
    until = datetime.fromisoformat(document["u"]) if document["u"] else None
    return Decision(
        document["o"], document["r"], document["x"], document["h"], defer_until=until, trace=trace
    )
