"""Routes: ``/my-request/confirm/<token>`` and ``/my-request/export/<token>``."""

from __future__ import annotations

import json

from flask import Response, render_template

from app.compliance.request_export import download_export, request_of_export_link
from app.compliance.request_identity import confirm_by_link, request_of_link
from app.errors import AssensoError
from app.extensions import db
from app.web.access import public
from app.web.request_links import bp


def _invalid(exc: AssensoError):
    return render_template("request_links/invalid.html", message=str(exc)), exc.status


@bp.get("/confirm/<token>")
@public
def confirm(token: str):
    """Ask the person to confirm that the request recorded by staff is theirs."""
    try:
        row = request_of_link(db.session(), token)
    except AssensoError as exc:
        return _invalid(exc)
    return render_template("request_links/confirm.html", r=row, token=token, done=False)


@bp.post("/confirm/<token>")
@public
def confirm_post(token: str):
    """Record the confirmation (the request's identity is then verified)."""
    try:
        row = confirm_by_link(db.session(), token)
    except AssensoError as exc:
        return _invalid(exc)
    return render_template("request_links/confirm.html", r=row, token=token, done=True)


@bp.get("/export/<token>")
@public
def export(token: str):
    """The page from which the person downloads their export."""
    try:
        row, _customer = request_of_export_link(db.session(), token)
    except AssensoError as exc:
        return _invalid(exc)
    return render_template("request_links/export.html", r=row, token=token)


@bp.post("/export/<token>")
@public
def export_download(token: str):
    """The export itself (JSON), built now; the download is logged."""
    try:
        row, document = download_export(db.session(), token)
    except AssensoError as exc:
        return _invalid(exc)
    body = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    return Response(
        body,
        mimetype="application/json",
        headers={
            "Content-Disposition": f'attachment; filename="my-data-request-{row.id}.json"',
            "Cache-Control": "no-store",
        },
    )
