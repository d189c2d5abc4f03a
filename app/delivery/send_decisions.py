"""Keeping each message's send-time decision with its rule-by-rule trace.

The re-check at claim decides every claimed entry with the policy engine's ``explain``, and
this module stores the outcome and trace per outbox entry; a hand-over re-check that decides
again (the customer's facts moved) replaces it. The compliance console shows this stored trace
as the reason a message was (or was not) sent. One bulk delete and one bulk insert per batch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from app.models_base import among
from app.outbox.models import SendDecision
from app.policy import Decision
from app.policy.decision import FAILED, RuleResult
from app.policy.trace_record import decode_decision, encode_decision


def _traced(decision: Decision) -> Decision:
    """The decision with a trace: one failed step for those made before any rule ran (an
    unknown customer, an error while deciding)."""
    if decision.trace:
        return decision
    return replace(decision, trace=(RuleResult(decision.rule_id, FAILED, decision.explanation),))


def record_send_decisions(
    target, entries: Sequence, decisions: Mapping[int, Decision], now: datetime
) -> None:
    """Store (or replace) the decision of each of ``entries`` on ``target`` (a session or a
    connection, in the caller's transaction)."""
    rows = [
        {
            "outbox_id": entry.id,
            "decided_at": now,
            "outcome": decisions[entry.id].outcome,
            "rule_id": decisions[entry.id].rule_id,
            "trace": encode_decision(_traced(decisions[entry.id])),
        }
        for entry in entries
        if entry.id in decisions
    ]
    if not rows:
        return
    ids = [row["outbox_id"] for row in rows]
    target.execute(delete(SendDecision).where(among(target, SendDecision.outbox_id, ids)))
    target.execute(insert(SendDecision), rows)


def send_decision(session: Session, outbox_id: int) -> tuple[datetime, Decision] | None:
    """When and how entry ``outbox_id`` was decided at send time, with the trace; ``None``
    when no decision was stored (not yet claimed). ``ValueError`` for an unreadable trace."""
    row = session.execute(
        select(SendDecision.decided_at, SendDecision.trace).where(
            SendDecision.outbox_id == outbox_id
        )
    ).first()
    if row is None:
        return None
    return row.decided_at, decode_decision(row.trace)
