"""My offers: the offers the customer was given, with "more like this" and "less like this"."""

from __future__ import annotations

from flask import abort, flash, redirect, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.errors import AssensoError
from app.extensions import db
from app.marketing.eligibility import may_learn
from app.marketing.offers import OFFER_PREFIX, offer_for
from app.marketing.responses import customer_offer, offers_given, record_response
from app.web.access import customer_required
from app.web.navigation import register
from app.web.portal import bp
from app.web.portal.forms import ActionForm
from app.web.portal.rendering import current_language, customer, flash_problem, render

register("customer", "portal.offers", _l("My offers"))


@bp.get("/offers")
@customer_required
def offers():
    """The offers made to the customer lately, and whether we may learn from their answers."""
    me = customer()
    language = current_language()
    rows = [
        (row, offer_for(row.offer_id.removeprefix(OFFER_PREFIX)).text(language))
        for row in offers_given(db.session(), me)
    ]
    return render(
        "portal/offers.html", rows=rows, learning=may_learn(db.session(), me.id), form=ActionForm()
    )


@bp.post("/offers/<int:offer_id>/<any(more, less):response>")
@customer_required
def offer_feedback(offer_id: int, response: str):
    """Record "more like this" or "less like this" for one of the customer's offers."""
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        row = customer_offer(db.session(), customer(), offer_id)
        kept = record_response(db.session(), row, response)
    except AssensoError as exc:
        flash_problem(exc)
        return redirect(url_for("portal.offers"))
    if kept:
        flash(_("Thank you: your next offers will take this into account."), "success")
    else:
        flash(
            _(
                "Nothing was kept: you have already answered this offer, or recommendations "
                "are switched off."
            ),
            "info",
        )
    return redirect(url_for("portal.offers"))
