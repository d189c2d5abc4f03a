"""Offer performance: the learned choice against a random one, in aggregate."""

from __future__ import annotations

from flask import render_template

from app.extensions import db
from app.marketing.offer_performance import offer_performance
from app.marketing.offers import OFFER_PREFIX, RANDOM_SHARE
from app.web.access import roles_required
from app.web.marketing import MARKETER, bp


@bp.get("/offers")
@roles_required(MARKETER)
def offers():
    """How offers chosen for each customer are answered, against offers chosen at random."""
    return render_template(
        "marketing/offers.html",
        report=offer_performance(db.session()),
        prefix=OFFER_PREFIX,
        random_share=RANDOM_SHARE,
    )
