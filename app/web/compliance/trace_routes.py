"""Compliance console: a customer's messages and "why was this person contacted?"."""

from __future__ import annotations

from flask import abort, render_template, request, url_for

from app.compliance.tables import Column, Table
from app.compliance.trace import MessageTrace, customer_messages, message_trace
from app.customers.models import Customer
from app.extensions import db
from app.web.access import roles_required
from app.web.compliance import OFFICER, bp
from app.web.compliance.exporting import export_response, requested_format
from app.web.errors import bad_request

MESSAGE_COLUMNS = (
    Column("id", "Message"),
    Column("created_at", "Queued (UTC)"),
    Column("sent_at", "Sent (UTC)"),
    Column("status", "Status"),
    Column("kind", "Kind"),
    Column("purpose", "Purpose"),
    Column("channel", "Channel"),
    Column("campaign_id", "Campaign"),
    Column("run_id", "Run"),
    Column("decision_rule", "Deciding rule"),
    Column("policy_hash", "Policy SHA-256"),
)


@bp.get("/customers/<int:customer_id>/messages")
@roles_required(OFFICER)
def messages(customer_id: int):
    """Every message queued for one customer; each links to its decision trace."""
    customer = db.session.get(Customer, customer_id)
    if customer is None:
        abort(404)
    rows = []
    for entry in customer_messages(db.session(), customer_id):
        row = {column.key: getattr(entry, column.key) for column in MESSAGE_COLUMNS}
        row["_links"] = {"id": url_for("compliance.trace", outbox_id=entry.id)}
        rows.append(row)
    table = Table(f"customer-{customer.ref}-messages", MESSAGE_COLUMNS, rows)
    fmt = requested_format()
    if fmt is not None:
        return export_response(table, fmt)
    return render_template("compliance/messages.html", customer=customer, table=table)


RULE_COLUMNS = (Column("rule_id", "Rule"), Column("status", "Result"), Column("message", "Why"))
EVENT_COLUMNS = (
    Column("seq", "Entry"),
    Column("event_time", "Time (UTC)"),
    Column("action", "Action"),
    Column("purpose", "Purpose"),
    Column("channel", "Channel"),
    Column("notice_version", "Notice version"),
    Column("notice_hash", "Notice SHA-256"),
    Column("source", "Source"),
    Column("record_id", "Record id"),
)
CHANGE_COLUMNS = (
    Column("rule_id", "Rule"),
    Column("then", "At send time"),
    Column("now", "Today"),
)


def _rules(decision) -> list[dict]:
    if decision is None:
        return []
    return [
        {"rule_id": r.rule_id, "status": r.status, "message": r.message} for r in decision.trace
    ]


def trace_tables(found: MessageTrace) -> dict[str, Table]:
    """The tables of a message's trace page, by the name an export asks for."""
    name = f"message-{found.entry.id}"
    return {
        "as-decided": Table(f"{name}-as-decided", RULE_COLUMNS, _rules(found.sent_decision)),
        "today": Table(f"{name}-today", RULE_COLUMNS, _rules(found.recomputed)),
        "changes": Table(
            f"{name}-changes",
            CHANGE_COLUMNS,
            [{"rule_id": r, "then": a, "now": b} for r, a, b in found.differences],
        ),
        "consent": Table(
            f"{name}-consent-events",
            EVENT_COLUMNS,
            [{c.key: getattr(ev, c.key) for c in EVENT_COLUMNS} for ev in found.consent_events],
        ),
    }


@bp.get("/messages/<bigid:outbox_id>")
@roles_required(OFFICER)
def trace(outbox_id: int):
    """The full decision trace of one message: recorded facts, the rule-by-rule trace as
    decided at send time, and today's re-evaluation as a comparison.

    ``?table=as-decided|today|changes|consent&format=csv|json`` exports one of its tables.
    """
    found = message_trace(db.session(), outbox_id)
    if found is None:
        abort(404)
    fmt = requested_format()
    if fmt is not None:
        table = trace_tables(found).get(request.args.get("table", ""))
        if table is None:
            bad_request("Choose the table to export: as-decided, today, changes or consent.")
        return export_response(table, fmt)
    return render_template("compliance/trace.html", t=found)
