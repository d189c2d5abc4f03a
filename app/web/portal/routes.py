"""Portal pages for signed-in customers."""

from __future__ import annotations

from flask import render_template

from app.web.access import customer_required
from app.web.portal import bp


@bp.get("/")
@customer_required
def home():
    """The customer's overview of what is held and how they may be contacted."""
    return render_template("portal/home.html")
