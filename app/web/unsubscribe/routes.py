"""Routes: ``GET/POST /u/<token>`` and ``POST /sms/inbound``."""

from __future__ import annotations

import hmac

from flask import abort, jsonify, render_template, request
from flask_babel import get_locale, gettext

from app.delivery import unsubscribe as service
from app.delivery.tokens import InvalidUnsubscribeToken, UnsubscribeRequest
from app.errors import InvalidInput
from app.extensions import csrf, db
from app.self_service.consents import unsubscribe_label
from app.settings import current_settings
from app.web.access import public
from app.web.unsubscribe import bp

SECRET_HEADER = "X-Assenso-Sms-Secret"  # noqa: S105 - a header name


@bp.get("/u/<token>")
@public
def landing(token: str):
    """A plain page with one button confirming the unsubscribe, and a preferences link."""
    try:
        wanted = service.describe(token)
    except InvalidUnsubscribeToken as exc:
        return render_template("unsubscribe/invalid.html", message=gettext(str(exc))), 400
    return _page("unsubscribe/confirm.html", token, wanted)


@bp.post("/u/<token>")
@public
@csrf.exempt
def one_click(token: str):
    """RFC 8058 one-click POST (no login, cookie or CSRF token: the signed token decides)."""
    try:
        wanted = service.unsubscribe(db.session(), token)
    except InvalidUnsubscribeToken as exc:
        return render_template("unsubscribe/invalid.html", message=gettext(str(exc))), 400
    except InvalidInput:
        message = gettext("This link cannot be used.")
        return render_template("unsubscribe/invalid.html", message=message), 400
    return _page("unsubscribe/done.html", token, wanted)


def _page(template: str, token: str, wanted: UnsubscribeRequest):
    """The page naming the purpose by its label, in the visitor's language."""
    language = str(get_locale() or "en")
    label = unsubscribe_label(db.session(), wanted.customer_ref, wanted.purpose, language)
    return render_template(template, token=token, wanted=wanted, label=label)


@bp.post("/sms/inbound")
@public
@csrf.exempt
def sms_inbound():
    """The SMS provider's reply webhook; a STOP reply withdraws and suppresses SMS."""
    expected = current_settings().sms_inbound_secret
    given = request.headers.get(SECRET_HEADER, "")
    if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
        abort(403)
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict) or not isinstance(payload.get("text"), str):
        return jsonify(error={"status": 400, "message": "Expected JSON with a text field."}), 400
    try:
        stopped = service.handle_sms_reply(
            db.session, payload["text"], _text(payload, "message_id"), _text(payload, "token")
        )
    except InvalidInput as exc:
        return jsonify(error={"status": 400, "message": str(exc)}), 400
    return jsonify(stopped=stopped)


def _text(payload: dict, key: str) -> str | None:
    value = payload.get(key)
    return value if isinstance(value, str) and value else None
