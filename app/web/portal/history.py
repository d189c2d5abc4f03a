"""Portal page "History": consent events with receipts, and messages sent with their reasons."""

from __future__ import annotations

import json

from flask import Response, abort

from app.extensions import db
from app.ledger.proofs import receipt_for
from app.self_service import consents, history
from app.web.access import customer_required
from app.web.portal import bp
from app.web.portal.rendering import current_language, customer, render

RECEIPT_ID_MAX = 64


@bp.get("/history", endpoint="history")
@customer_required
def history_page():
    """Consent events (time, what, how, notice version) and messages sent, with reasons."""
    me = customer()
    events = history.consent_events(db.session, me)
    return render(
        "portal/history.html",
        events=events,
        messages=history.sent_messages(db.session, me, events),
        purpose_labels=consents.labels_for(me.jurisdiction, current_language()),
    )


def _own_receipt(record_id: str) -> dict:
    if len(record_id) > RECEIPT_ID_MAX:
        abort(404)
    return receipt_for(db.session(), record_id, customer_ref=customer().ref)  # NotFound: 404


@bp.get("/receipts/<record_id>")
@customer_required
def receipt(record_id: str):
    """A readable receipt of one of the customer's own consent records."""
    return render("portal/receipt.html", receipt=_own_receipt(record_id), record_id=record_id)


@bp.get("/receipts/<record_id>/download")
@customer_required
def receipt_json(record_id: str):
    """The receipt as JSON, verifiable offline with ``python -m app.ledger.receipt_verify``."""
    body = json.dumps(_own_receipt(record_id), indent=2, ensure_ascii=False)
    return Response(
        body + "\n",
        mimetype="application/json",
        headers={"Content-Disposition": f'attachment; filename="receipt-{record_id}.json"'},
    )
