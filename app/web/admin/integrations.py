"""Administration of integrations: API keys, webhook subscriptions and their delivery log.

A new key's secret and a new subscription's signing secret are shown once, in the answer to
the form (never flashed: a flashed message would travel in the session cookie).
"""

from __future__ import annotations

from datetime import UTC, datetime, time

from flask import flash, redirect, render_template, url_for
from flask_login import current_user

from app.errors import AssensoError
from app.extensions import db
from app.integrations import subscriptions as webhooks
from app.integrations.api_keys import create_key, list_keys, revoke_key
from app.web.access import roles_required
from app.web.admin import bp
from app.web.admin.integration_forms import ApiKeyForm, SubscriptionForm
from app.web.navigation import register

register("admin", "admin.api_keys", "API keys")
register("admin", "admin.webhooks", "Webhooks")


def _actor() -> str:
    return f"staff:{current_user.email}"


@bp.route("/api-keys", methods=["GET", "POST"])
@roles_required("admin")
def api_keys():
    """List API keys and make new ones (the key is shown once)."""
    form = ApiKeyForm()
    status, shown = 200, None
    if form.validate_on_submit():
        expires = (
            datetime.combine(form.expires.data, time(23, 59), tzinfo=UTC)
            if form.expires.data
            else None
        )
        try:
            key, shown = create_key(
                db.session(),
                name=form.name.data,
                scopes=form.scopes.data or [],
                created_by=_actor(),
                expires_at=expires,
                rate_limit=form.rate_limit.data,
            )
        except AssensoError as exc:
            flash(str(exc), "error")
            status = 400
        else:
            status = 201
            form = ApiKeyForm(formdata=None)
            flash(f"Key {key.name} made. Copy it now: it is not shown again.", "success")
    elif form.errors:
        status = 400
    keys = list_keys(db.session())
    return render_template("admin/api_keys.html", form=form, keys=keys, shown=shown), status


@bp.post("/api-keys/<int:key_id>/revoke")
@roles_required("admin")
def revoke_api_key(key_id: int):
    """Revoke a key: its next call is refused."""
    try:
        key = revoke_key(db.session(), key_id)
    except AssensoError as exc:
        flash(str(exc), "error")
    else:
        flash(f"Key {key.name} revoked.", "success")
    return redirect(url_for("admin.api_keys"))


@bp.route("/webhooks", methods=["GET", "POST"], endpoint="webhooks")
@roles_required("admin")
def webhooks_page():
    """List webhook subscriptions and add new ones (the signing secret is shown once)."""
    form = SubscriptionForm()
    status, shown = 200, None
    if form.validate_on_submit():
        try:
            _made, secret = webhooks.create_subscription(
                db.session(),
                url=form.url.data,
                event_types=form.event_types.data or [],
                created_by=_actor(),
                description=form.description.data or "",
            )
        except AssensoError as exc:
            flash(str(exc), "error")
            status = 400
        else:
            status, shown = 201, secret
            form = SubscriptionForm(formdata=None)
            flash(
                "Subscription made. Copy its signing secret now: it is not shown again.", "success"
            )
    elif form.errors:
        status = 400
    rows, _ = webhooks.subscriptions_page(db.session(), None, 500)
    return render_template(
        "admin/webhooks.html", form=form, subscriptions=rows, shown=shown
    ), status


@bp.get("/webhooks/<int:subscription_id>")
@roles_required("admin")
def webhook_log(subscription_id: int):
    """A subscription's delivery log: its latest messages and their last attempt."""
    session = db.session()
    subscription = webhooks.get_subscription(session, subscription_id)
    page, _ = webhooks.messages_page(session, subscription_id, None, 200)
    return render_template("admin/webhook_log.html", subscription=subscription, page=page)


@bp.post("/webhooks/<int:subscription_id>/<any(enable,disable,delete):action>")
@roles_required("admin")
def webhook_action(subscription_id: int, action: str):
    """Enable, disable or delete a subscription."""
    try:
        if action == "delete":
            webhooks.delete_subscription(db.session(), subscription_id)
        else:
            webhooks.set_active(db.session(), subscription_id, action == "enable")
    except AssensoError as exc:
        flash(str(exc), "error")
    else:
        flash(f"Subscription {action}d.", "success")
    return redirect(url_for("admin.webhooks"))


@bp.post("/webhooks/<int:subscription_id>/messages/<int:message_id>/replay")
@roles_required("admin")
def webhook_replay(subscription_id: int, message_id: int):
    """Send a message again (same id and body)."""
    try:
        webhooks.replay(db.session(), subscription_id, message_id)
    except AssensoError as exc:
        flash(str(exc), "error")
    else:
        flash("The message will be sent again.", "success")
    return redirect(url_for("admin.webhook_log", subscription_id=subscription_id))
