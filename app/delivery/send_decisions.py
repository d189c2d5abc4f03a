"""Keeping each message's send-time decision with its rule-by-rule trace.

The re-check at claim decides every claimed entry with the policy engine's ``explain``, and
this module stores the outcome and trace per outbox entry; a hand-over re-check that decides
again (the customer's facts moved) replaces it. The compliance console shows this stored trace
as the reason a message was (or was not) sent. One bulk delete and one bulk insert per batch
(on PostgreSQL one short statement over arrays, as :func:`app.delivery.recording.log_sends`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import cast

from sqlalchemy import Table, bindparam, delete, insert, select, text
from sqlalchemy.orm import Session

from app.models_base import UTCDateTime, among, dialect_name, pg_array
from app.outbox.models import SendDecision
from app.policy import Decision
from app.policy.decision import FAILED, RuleResult
from app.policy.trace_record import decode_decision, encode_decision

# PostgreSQL: a batch as arrays in one short statement (psycopg parses any statement with more
# than 50 parameters again on every execution); the traces travel as a native ``bytea[]``.
_INSERT_PG = text(
    "INSERT INTO send_decisions (outbox_id, decided_at, outcome, rule_id, trace) "
    "SELECT v.outbox_id, :now, v.outcome, v.rule_id, v.trace "
    "FROM unnest(CAST(:ids AS BIGINT[]), CAST(:outcomes AS TEXT[]), CAST(:rules AS TEXT[]), "
    "CAST(:traces AS BYTEA[])) AS v(outbox_id, outcome, rule_id, trace)"
).bindparams(bindparam("now", type_=UTCDateTime()))


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
    if dialect_name(target) == "postgresql":
        values = {
            "now": now,
            "ids": pg_array(ids),
            "outcomes": pg_array([row["outcome"] for row in rows]),
            "rules": pg_array([row["rule_id"] for row in rows]),
            "traces": [row["trace"] for row in rows],
        }
        target.execute(_INSERT_PG, values)
    else:
        target.execute(insert(cast(Table, SendDecision.__table__)), rows)  # Core, not ORM bulk


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
