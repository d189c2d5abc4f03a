"""``POST /events/purchases``: purchases reported by a shop or till system."""

from __future__ import annotations

from decimal import Decimal

from spectree import Response

from app.extensions import db
from app.marketing.purchases import record_purchase
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
    outcome = record_purchase(
        db.session(),
        resolve(db.session(), json.customer),
        at=json.at,
        amount_cents=int(Decimal(json.amount) * 100),
        category=json.category,
        order_reference=json.order_reference,
        actor=actor(),
    )
    return {"stored": outcome.stored, "reason": outcome.reason}, 200
