"""``POST /events/purchases``: purchases reported by a shop or till system."""

from __future__ import annotations

from datetime import UTC
from decimal import Decimal

from spectree import Response

from app.extensions import db
from app.marketing.purchases import record_purchases
from app.settings import current_settings
from app.web.access import api_key_required
from app.web.api import bp, spec
from app.web.api.auth import actor
from app.web.api.customers import resolve
from app.web.api.idempotency import idempotent
from app.web.api.schemas import Purchase, PurchaseOutcome
from app.web.problems import ApiProblem


@bp.post("/events/purchases")
@api_key_required("events:write")
@spec.validate(resp=Response(HTTP_200=PurchaseOutcome), tags=["events"], force_resp_serialize=True)
@idempotent
def purchase(json: Purchase):
    """Report a purchase. It is stored only for customers who share their purchase history
    for a purpose that uses it; otherwise the answer says it was not stored, and why.

    Scope `events:write`. Amounts are in the installation's currency (`ASSENSO_CURRENCY`).
    """
    currency = current_settings().currency
    if json.currency != currency:
        raise ApiProblem(400, f"Amounts are recorded in {currency}; convert before reporting.")
    if json.at.tzinfo is None:
        raise ApiProblem(400, "A purchase time needs a time zone offset, like Z.")
    purchase = {
        "sku": json.order_reference,
        "category": json.category,
        "amount_cents": int(Decimal(json.amount) * 100),
        "at": json.at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    session = db.session()
    outcome = record_purchases(
        session, resolve(session, json.customer), [purchase], f"api:{actor()}"
    )
    stored = outcome.reason in ("stored", "duplicate")
    return {"stored": stored, "reason": None if stored else outcome.message}, 200
