"""HTTP responses for table exports (``?format=csv`` / ``?format=json`` on a console page)."""

from __future__ import annotations

from flask import Response, request

from app.compliance.tables import EXPORT_FORMATS, Table, to_csv, to_json
from app.web.errors import bad_request


def requested_format() -> str | None:
    """The export format asked for in the query string, ``None`` for the HTML page.

    An unknown format is a client error (400), never a silent fallback.
    """
    fmt = request.args.get("format")
    if fmt is None or fmt == "html":
        return None
    if fmt not in EXPORT_FORMATS:
        bad_request(f"Unknown export format {fmt!r}: use csv or json.")
    return fmt


def export_response(table: Table, fmt: str) -> Response:
    """``table`` as a downloadable CSV or JSON file named after it."""
    if fmt == "csv":
        body, mimetype = to_csv(table.columns, table.rows), "text/csv; charset=utf-8"
    else:
        body, mimetype = to_json(table.name, table.columns, table.rows), "application/json"
    filename = f"assenso-{table.name}.{fmt}"
    return Response(
        body,
        mimetype=mimetype,
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )
