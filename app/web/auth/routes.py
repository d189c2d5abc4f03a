"""Sign-in and sign-out for staff and customers; password changes for both."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user

from app.accounts import services as accounts
from app.errors import AssensoError
from app.extensions import db, limiter
from app.web.access import home_endpoint, public, roles_required
from app.web.auth import bp
from app.web.auth.forms import ChangePasswordForm, LoginForm

ALL_SIGNED_IN = ("admin", "marketer", "compliance_officer", "customer")


def login_limit() -> str:
    """The configured rate limit for sign-in attempts (per client address)."""
    return current_app.config["LOGIN_RATE_LIMIT"]


def safe_next(default: str) -> str:
    """The ``next`` target when it is a local path; anything else falls back to ``default``."""
    target = request.args.get("next", "")
    parts = urlsplit(target)
    if target.startswith("/") and not target.startswith("//") and not parts.netloc:
        return target
    return default


def _finish_login(user) -> object:
    session.clear()  # a fresh session on sign-in defeats session fixation
    login_user(user)
    return redirect(safe_next(url_for(home_endpoint(user))))


@bp.route("/staff/login", methods=["GET", "POST"])
@public
@limiter.limit(login_limit, methods=["POST"])
def staff_login():
    """Staff sign-in; each role lands on its own console."""
    form = LoginForm()
    if form.validate_on_submit():
        user = accounts.authenticate_staff(db.session, form.email.data, form.password.data)
        if user is not None:
            return _finish_login(user)
        flash("That e-mail address and password do not match an active account.", "error")
    return render_template("auth/login.html", form=form, audience="staff"), (
        400 if form.errors else 200
    )


@bp.route("/login", methods=["GET", "POST"])
@public
@limiter.limit(login_limit, methods=["POST"])
def customer_login():
    """Customer sign-in to the preference portal."""
    from app.vault.directory import authenticate_customer

    form = LoginForm()
    if form.validate_on_submit():
        customer = authenticate_customer(db.session, form.email.data, form.password.data)
        if customer is not None:
            return _finish_login(customer)
        flash("That e-mail address and password do not match an account.", "error")
    return render_template("auth/login.html", form=form, audience="customer"), (
        400 if form.errors else 200
    )


@bp.post("/logout")
@roles_required(*ALL_SIGNED_IN)
def logout():
    """Sign out of this browser."""
    logout_user()
    session.clear()
    flash("You are signed out.", "info")
    return redirect(url_for("public.index"))


@bp.post("/logout/everywhere")
@roles_required(*ALL_SIGNED_IN)
def logout_everywhere():
    """Sign out of every browser and device by rotating the account's session id."""
    accounts.sign_out_everywhere(db.session, current_user._get_current_object())
    logout_user()
    session.clear()
    flash("You are signed out everywhere.", "info")
    return redirect(url_for("public.index"))


@bp.route("/account/password", methods=["GET", "POST"])
@roles_required(*ALL_SIGNED_IN)
@login_required
def change_password():
    """Change the password; every other session of the account is signed out."""
    form = ChangePasswordForm()
    status = 200
    if form.validate_on_submit():
        account = current_user._get_current_object()
        try:
            accounts.change_password(
                db.session, account, form.current_password.data, form.new_password.data
            )
        except AssensoError as exc:
            flash(str(exc), "error")
            status = 400
        else:
            login_user(account)  # this session continues under the new id
            flash("Password changed. Other sessions were signed out.", "success")
            return redirect(url_for(home_endpoint(account)))
    elif form.errors:
        status = 400
    return render_template("auth/change_password.html", form=form), status
