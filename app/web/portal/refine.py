"""The target of "refine your preferences" links next to one-click unsubscribe.

``/me/refine/<token>`` takes the same signed token as ``/u/<token>``. Without signing in it
only lets the person *reduce* contact (withdraw any consent, object to all marketing), which
is all a forwarded or leaked link could ever be used for; anything else asks them to sign in.
"""

from __future__ import annotations

from flask import abort, flash, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from app.customers.models import Customer
from app.delivery.tokens import InvalidUnsubscribeToken, read_unsubscribe_token
from app.errors import AssensoError
from app.extensions import db
from app.self_service import consents
from app.web.access import public
from app.web.portal import bp
from app.web.portal.forms import ActionForm
from app.web.portal.rendering import current_language, evidence, render


def _customer_for(token: str) -> Customer | None:
    try:
        wanted = read_unsubscribe_token(token)
    except InvalidUnsubscribeToken:
        return None
    found = db.session.scalar(select(Customer).where(Customer.ref == wanted.customer_ref))
    return found if found is not None and found.erased_at is None else None


def _invalid():
    return render("portal/refine_invalid.html", 400)


@bp.get("/refine/<token>")
@public
def refine(token: str):
    """Every consent of the link's owner with a one-click stop for each."""
    owner = _customer_for(token)
    if owner is None:
        return _invalid()
    if getattr(current_user, "ref", None) == owner.ref:
        return redirect(url_for("portal.contact"))
    return render(
        "portal/refine.html",
        token=token,
        purposes=consents.overview(db.session(), owner, current_language()),
        objected_at=owner.objected_at,
        form=ActionForm(),
    )


@bp.post("/refine/<token>/withdraw/<purpose>/<channel>")
@public
def refine_withdraw(token: str, purpose: str, channel: str):
    """Withdraw one consent of the link's owner."""
    owner = _customer_for(token)
    if owner is None:
        return _invalid()
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        consents.withdraw(
            db.session(), owner, purpose=purpose, channel=channel, evidence=evidence()
        )
    except AssensoError:
        abort(404)
    flash(_("Withdrawn. You will not receive these messages any more."), "success")
    return redirect(url_for("portal.refine", token=token))


@bp.post("/refine/<token>/object")
@public
def refine_object(token: str):
    """Object to all direct marketing for the link's owner."""
    owner = _customer_for(token)
    if owner is None:
        return _invalid()
    if not ActionForm().validate_on_submit():
        abort(400)
    consents.object_to_all(db.session(), owner, evidence=evidence())
    flash(_("Recorded: you will receive no direct marketing at all."), "success")
    return redirect(url_for("portal.refine", token=token))
