"""Forgotten password: a signed, expiring, single-use link by e-mail; no account enumeration."""

from __future__ import annotations

from flask import flash, redirect, url_for
from flask_babel import gettext as _

from app.errors import AssensoError
from app.extensions import db, limiter
from app.self_service.accounts import request_password_reset, reset_password
from app.self_service.tokens import InvalidResetLink, customer_for_reset
from app.web.access import public
from app.web.auth import bp
from app.web.auth.portal_forms import PASSWORD_HINT, ForgotPasswordForm, ResetPasswordForm
from app.web.portal.rendering import flash_problem, render
from app.web.throttle import limit_mail_form, signup_limit

TOKEN_MAX = 400


@bp.route("/password/forgot", methods=["GET", "POST"])
@public
@limit_mail_form
def forgot_password():
    """Ask for a reset link; the answer is the same whether or not the address has an account."""
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        request_password_reset(form.email.data)
        flash(
            _(
                "If an account uses this address, we sent it a link to choose a new password. "
                "The link works for one hour."
            ),
            "info",
        )
        return redirect(url_for("auth.customer_login"))
    return render("portal/forgot.html", 400 if form.errors else 200, form=form)


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
@public
@limiter.limit(signup_limit, methods=["POST"])
def reset_password_page(token: str):
    """Choose a new password from a valid link; every session is signed out."""
    try:
        if len(token) > TOKEN_MAX:
            raise InvalidResetLink("This reset link is not valid, has expired or was already used.")
        customer_for_reset(db.session(), token)
    except AssensoError as exc:
        return render("portal/reset_invalid.html", flash_problem(exc))
    form = ResetPasswordForm()
    status = 200
    if form.validate_on_submit():
        try:
            reset_password(db.session(), token, form.password.data)
        except AssensoError as exc:
            status = flash_problem(exc)
        else:
            flash(_("Your password is changed. Please sign in with it."), "success")
            return redirect(url_for("auth.customer_login"))
    elif form.errors:
        status = 400
    return render("portal/reset.html", status, form=form, password_hint=PASSWORD_HINT)
