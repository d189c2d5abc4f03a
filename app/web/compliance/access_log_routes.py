"""Compliance console: the vault access log."""

from __future__ import annotations

from flask import render_template, request

from app.compliance.access_log import (
    access_export,
    access_page,
    parse_access_filter,
    purposes_logged,
)
from app.compliance.tables import Column, Table
from app.extensions import db
from app.web.access import roles_required
from app.web.compliance import OFFICER, bp
from app.web.compliance.exporting import export_response, requested_format
from app.web.errors import bad_request
from app.web.ids import page_cursor

COLUMNS = (
    Column("id", "Entry"),
    Column("at", "When (UTC)"),
    Column("actor", "Who"),
    Column("purpose", "Purpose"),
    Column("fields", "Fields read"),
    Column("customer_ref", "Customer (pseudonym)"),
    Column("customer_count", "Customers"),
    Column("reason", "Reason"),
)


def _rows(entries) -> list[dict]:
    return [{c.key: getattr(entry, c.key) for c in COLUMNS} for entry in entries]


@bp.get("/access-log")
@roles_required(OFFICER)
def access_log():
    """Who read which fields of whom, when and why; filters, pages, CSV/JSON."""
    flt = parse_access_filter(db.session, request.args)
    fmt = requested_format()
    if fmt is not None:
        if flt.errors:
            bad_request("The filters are not valid: " + " ".join(flt.errors.values()))
        return export_response(
            Table("vault-access-log", COLUMNS, _rows(access_export(db.session, flt))), fmt
        )
    before = page_cursor("before")
    entries, older = [], None
    if not flt.errors:
        entries, older = access_page(db.session, flt, before)
    return render_template(
        "compliance/access_log.html",
        flt=flt,
        table=Table("vault-access-log", COLUMNS, _rows(entries)),
        older=older,
        purposes=purposes_logged(db.session),
    ), (400 if flt.errors else 200)
