"""Administration pages."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from sqlalchemy import select

from app.accounts import service as accounts
from app.accounts.models import StaffUser
from app.errors import AssensoError
from app.extensions import db
from app.web.access import roles_required
from app.web.admin import bp
from app.web.admin.forms import ROLE_LABELS, StaffUserForm


@bp.route("/", methods=["GET", "POST"])
@roles_required("admin")
def home():
    """List staff accounts and create new ones."""
    form = StaffUserForm()
    status = 200
    if form.validate_on_submit():
        try:
            user = accounts.create_staff_user(
                db.session, form.email.data, form.role.data, form.password.data
            )
        except AssensoError as exc:
            flash(str(exc), "error")
            status = 400
        else:
            flash(f"Account {user.email} created.", "success")
            return redirect(url_for("admin.home"))
    elif form.errors:
        status = 400
    users = db.session.scalars(select(StaffUser).order_by(StaffUser.email)).all()
    return render_template(
        "admin/home.html", form=form, users=users, role_labels=ROLE_LABELS
    ), status
