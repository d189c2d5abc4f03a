"""Portal page "My account": download my data, delete my account."""

from __future__ import annotations

import json

from flask import Response, flash, redirect, url_for
from flask_babel import gettext as _

from app.compliance.requests import record_erasure, record_fulfilled
from app.errors import AssensoError
from app.extensions import db
from app.self_service.accounts import delete_account
from app.self_service.export import export_customer
from app.web.access import customer_required
from app.web.auth_session import end_session
from app.web.portal import bp
from app.web.portal.forms import DeleteAccountForm
from app.web.portal.rendering import customer, flash_problem, render
from app.web.throttle import limit_password_form


@bp.get("/account")
@customer_required
def account():
    """Download everything held, or delete the account."""
    return render("portal/account.html", form=DeleteAccountForm())


@bp.get("/account/export")
@customer_required
def export():
    """Everything held about the customer as JSON (format ``assenso-export/1``)."""
    body = json.dumps(export_customer(db.session, customer()), indent=2, ensure_ascii=False)
    record_fulfilled(
        db.session,
        customer(),
        "export",
        actor="customer",
        outcome="downloaded by the customer in the portal",
    )
    return Response(
        body + "\n",
        mimetype="application/json",
        headers={"Content-Disposition": 'attachment; filename="assenso-my-data.json"'},
    )


@bp.post("/account/delete")
@customer_required
@limit_password_form
def delete():
    """Erase the account after the password is re-entered; the customer is signed out."""
    form = DeleteAccountForm()
    if not form.validate_on_submit():
        flash(_("Enter your password to confirm."), "error")
        return render("portal/account.html", 400, form=form)
    try:
        delete_account(db.session, customer(), form.password.data)
        record_erasure(db.session, customer())
    except AssensoError as exc:
        return render("portal/account.html", flash_problem(exc), form=form)
    end_session()
    flash(_("Your account and data are deleted. The keys to your data were destroyed."), "success")
    return redirect(url_for("public.index"))
