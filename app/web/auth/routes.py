"""Sign-in and sign-out for staff and customers; password changes for both."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import flash, redirect, render_template, request, url_for
from flask_login import login_required

from app.accounts import service as accounts
from app.errors import AssensoError
from app.extensions import db
from app.self_service.accounts import change_own_password, customer_for_sign_in
from app.settings import current_settings
from app.web.access import home_endpoint, public, roles_required
from app.web.auth import bp
from app.web.auth.forms import ChangePasswordForm, LoginForm
from app.web.auth_session import end_session, start_session
from app.web.signed_in import signed_in_account
from app.web.throttle import limit_password_form, limit_sign_in

ALL_SIGNED_IN = ("admin", "marketer", "compliance_officer", "customer")


def safe_next(default: str) -> str:
    """The ``next`` target when it is a local path; anything else falls back to ``default``."""
    target = request.args.get("next", "")
    parts = urlsplit(target)
    if target.startswith("/") and not target.startswith("//") and not parts.netloc:
        return target
    return default


def _refuse_published() -> bool:
    """True where the demo's published passwords must not open any account (production)."""
    return not current_settings().demo_allowed


def _finish_login(user) -> object:
    start_session(user)
    return redirect(safe_next(url_for(home_endpoint(user))))


@bp.route("/staff/login", methods=["GET", "POST"])
@public
@limit_sign_in
def staff_login():
    """Staff sign-in; each role lands on its own console."""
    form = LoginForm()
    if form.validate_on_submit():
        user = accounts.authenticate_staff(
            db.session, form.email.data, form.password.data, refuse_published=_refuse_published()
        )
        if user is not None:
            return _finish_login(user)
        flash("That e-mail address and password do not match an active account.", "error")
    return render_template("auth/login.html", form=form, audience="staff"), (
        400 if form.errors else 200
    )


@bp.route("/login", methods=["GET", "POST"])
@public
@limit_sign_in
def customer_login():
    """Customer sign-in to the preference portal."""
    form = LoginForm()
    if form.validate_on_submit():
        customer = customer_for_sign_in(
            db.session, form.email.data, form.password.data, refuse_published=_refuse_published()
        )
        if customer is not None:
            return _finish_login(customer)
        flash("That e-mail address and password do not match an account.", "error")
    return render_template("auth/login.html", form=form, audience="customer"), (
        400 if form.errors else 200
    )


@bp.post("/logout")
@roles_required(*ALL_SIGNED_IN)
def logout():
    """Sign out of this browser: its session ends on the server too."""
    end_session()
    flash("You are signed out.", "info")
    return redirect(url_for("public.index"))


@bp.post("/logout/everywhere")
@roles_required(*ALL_SIGNED_IN)
def logout_everywhere():
    """Sign out of every browser and device: every session of the account ends."""
    accounts.sign_out_everywhere(db.session, signed_in_account())
    end_session()
    flash("You are signed out everywhere.", "info")
    return redirect(url_for("public.index"))


@bp.route("/account/password", methods=["GET", "POST"])
@roles_required(*ALL_SIGNED_IN)
@login_required
@limit_password_form
def change_password():
    """Change the password; every other session of the account is signed out."""
    form = ChangePasswordForm()
    status = 200
    if form.validate_on_submit():
        account = signed_in_account()
        try:
            change_own_password(
                db.session, account, form.current_password.data, form.new_password.data
            )
        except AssensoError as exc:
            flash(str(exc), "error")
            status = 400
        else:
            start_session(account)  # this browser continues in a new session
            flash("Password changed. Other sessions were signed out.", "success")
            return redirect(url_for(home_endpoint(account)))
    elif form.errors:
        status = 400
    return render_template("auth/change_password.html", form=form), status
