"""The offer link in campaign messages: a click teaches the offer choice, with consent only."""

from __future__ import annotations

from flask import render_template
from flask_babel import gettext as _

from app.customers.models import Customer
from app.delivery.tokens import InvalidOfferToken, read_offer_token
from app.extensions import db
from app.marketing.offers import OFFER_PREFIX, offer_for
from app.marketing.responses import record_click
from app.web.access import public
from app.web.public import bp


@bp.get("/o/<token>")
@public
def offer_link(token: str):
    """Show the offer a message linked to; the click is kept only if its customer allows
    learning (no cookie is set, nothing is loaded from elsewhere)."""
    try:
        entry_id = read_offer_token(token)
    except InvalidOfferToken as exc:
        return render_template("public/offer.html", offer=None, problem=_(str(exc))), 400
    offer, _kept = record_click(db.session(), entry_id)
    if offer is None:
        message = _("This offer is no longer available.")
        return render_template("public/offer.html", offer=None, problem=message), 404
    customer = db.session.get(Customer, offer.customer_id)
    language = customer.language if customer is not None else "en"
    text = offer_for(offer.offer_id.removeprefix(OFFER_PREFIX)).text(language)
    return render_template("public/offer.html", offer=text, problem=None)
