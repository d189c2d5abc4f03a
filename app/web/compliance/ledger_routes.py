"""Compliance console: the ledger browser (search, keyset pages, exports, receipts)."""

from __future__ import annotations

from flask import jsonify, render_template, request, url_for

from app.compliance.ledger_search import (
    EXPORT_LIMIT,
    customers_by_ref,
    export_rows,
    parse_filter,
    search_page,
)
from app.compliance.tables import Column, Table
from app.extensions import db
from app.ledger.proofs import receipt_for
from app.ledger.records import ACTIONS, SOURCES
from app.policy_sets.in_force import known_channels, known_purposes
from app.web.access import roles_required
from app.web.compliance import OFFICER, bp
from app.web.compliance.exporting import export_response, requested_format
from app.web.errors import bad_request
from app.web.ids import MAX_BIG_ID, page_cursor

EVENT_COLUMNS = (
    Column("seq", "Entry"),
    Column("event_time", "Time (UTC)"),
    Column("customer_ref", "Customer (pseudonym)"),
    Column("purpose", "Purpose"),
    Column("channel", "Channel"),
    Column("action", "Action"),
    Column("lawful_basis", "Lawful basis"),
    Column("notice_version", "Notice version"),
    Column("notice_hash", "Notice SHA-256"),
    Column("method", "Method"),
    Column("source", "Source"),
    Column("actor", "Actor"),
    Column("jurisdiction", "Jurisdiction"),
    Column("language", "Language"),
    Column("expires_at", "Expires"),
    Column("record_id", "Record id"),
)
#: The columns the page shows (the export holds them all).
PAGE_KEYS = (
    "seq",
    "event_time",
    "customer_ref",
    "purpose",
    "channel",
    "action",
    "source",
    "actor",
    "notice_version",
)


def event_row(event) -> dict:
    """One ledger event as a table row."""
    return {column.key: getattr(event, column.key) for column in EVENT_COLUMNS}


@bp.get("/ledger")
@roles_required(OFFICER)
def ledger():
    """Search the consent ledger; pages cut on the entry number; CSV/JSON of the whole result."""
    flt = parse_filter(db.session, request.args)
    fmt = requested_format()
    if fmt is not None:
        if not flt.valid:
            bad_request("The filters are not valid: " + " ".join(flt.errors.values()))
        rows = [event_row(event) for event in export_rows(db.session, flt)]
        return export_response(Table("ledger-events", EVENT_COLUMNS, rows), fmt)
    page = None
    if flt.valid:
        before, after = page_cursor("before", MAX_BIG_ID), page_cursor("after", MAX_BIG_ID)
        page = search_page(db.session, flt, before=before, after=after)
    columns = [c for c in EVENT_COLUMNS if c.key in PAGE_KEYS]
    rows = [event_row(event) for event in page.events] if page else []
    customers = customers_by_ref(db.session, {row["customer_ref"] for row in rows})
    for row in rows:
        links = {"seq": url_for("compliance.receipt", record_id=row["record_id"])}
        if row["customer_ref"] in customers:
            links["customer_ref"] = url_for(
                "compliance.customer", customer_id=customers[row["customer_ref"]]
            )
        row["_links"] = links
    status = 400 if not flt.valid else 200
    return render_template(
        "compliance/ledger.html",
        flt=flt,
        page=page,
        table=Table("ledger-events", columns, rows),
        purposes=known_purposes(),
        channels=known_channels(),
        actions=ACTIONS,
        sources=SOURCES,
        export_limit=EXPORT_LIMIT,
    ), status


@bp.get("/ledger/<record_id>/receipt.json")
@roles_required(OFFICER)
def receipt(record_id: str):
    """The consent receipt of one event (record, notice, inclusion proof, signed checkpoint)."""
    document = receipt_for(db.session(), record_id)  # NotFound: a 404 (app/web/errors.py)
    response = jsonify(document)
    response.headers["Content-Disposition"] = f'attachment; filename="receipt-{record_id}.json"'
    return response
