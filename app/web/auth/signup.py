"""Customer sign-up, double opt-in confirmation links and the language switcher."""

from __future__ import annotations

import zoneinfo
from functools import cache
from urllib.parse import urlsplit

from flask import flash, redirect, request, session, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from wtforms import SelectChoice

from app.errors import AssensoError, NotFound
from app.extensions import db
from app.ledger.notices import current_notice
from app.self_service import consents
from app.self_service.accounts import SignUpRequest, minimum_age, sign_up
from app.settings import current_settings
from app.web.access import public
from app.web.auth import bp
from app.web.auth.portal_forms import PASSWORD_HINT, ConfirmForm, LanguageForm, SignUpForm
from app.web.ids import parse_id
from app.web.portal.rendering import current_language, evidence, flash_problem, render
from app.web.throttle import limit_mail_form

DEFAULT_TIMEZONE = "Europe/Rome"


@cache
def _time_zones() -> list[SelectChoice]:
    zones = sorted(zoneinfo.available_timezones())
    return [SelectChoice(zone, zone.replace("_", " ")) for zone in zones]


def _offers(jurisdiction: str) -> list[dict]:
    """Each purpose with the notice in force (purposes without a notice are not offered)."""
    offers = []
    policy_channels = consents.channels_for(jurisdiction)
    for purpose in consents.consent_purposes(jurisdiction):
        try:
            notice = current_notice(db.session(), purpose, current_language())
        except NotFound:
            continue
        offers.append({"purpose": purpose, "notice": notice, "channels": list(policy_channels)})
    return offers


@bp.route("/signup", methods=["GET", "POST"])
@public
@limit_mail_form
def signup():
    """Create a customer account; every consent is an explicit, unticked choice.

    The answer is the same whether or not the address already has an account (its owner is
    told by e-mail); the new customer then signs in.
    """
    jurisdiction = current_settings().default_jurisdiction
    form = SignUpForm(language=current_language(), timezone=DEFAULT_TIMEZONE)
    form.timezone.choices = _time_zones()
    offers = _offers(jurisdiction)
    age = minimum_age(jurisdiction)
    status = 200
    if form.validate_on_submit():
        wanted = _request_from(form, offers)
        try:
            sign_up(db.session, wanted, jurisdiction=jurisdiction, evidence=evidence())
        except AssensoError as exc:
            status = flash_problem(exc)
        else:
            session["lang"] = wanted.language
            with force_locale(wanted.language):
                message = _(
                    "Thank you. We sent a message to this address: please check your mailbox, "
                    "then sign in."
                )
            flash(message, "info")
            return redirect(url_for("auth.customer_login"))
    elif form.errors:
        status = 400
    chosen = set(request.form.getlist("consent")) if request.method == "POST" else set()
    return render(
        "portal/signup.html",
        status,
        form=form,
        offers=offers,
        age=age,
        chosen=chosen,
        labels=consents.labels_for(jurisdiction, current_language()),
        password_hint=PASSWORD_HINT,
    )


def _request_from(form: SignUpForm, offers: list[dict]) -> SignUpRequest:
    offered = {(o["purpose"], c) for o in offers for c in o["channels"]}
    ticked = {tuple(v.split(":", 1)) for v in request.form.getlist("consent") if ":" in v}
    notices = {}
    for offer in offers:
        shown = parse_id(request.form.get(f"notice-{offer['purpose']}"))
        notices[offer["purpose"]] = shown or 0
    return SignUpRequest(
        email=form.email.data,
        password=form.password.data,
        language=form.language.data,
        timezone=form.timezone.data,
        age_confirmed=bool(form.age_confirmed.data),
        first_name=form.first_name.data or "",
        phone=form.phone.data or "",
        consents=frozenset(c for c in ticked if c in offered),
        notices_shown=notices,
    )


@bp.route("/consent/confirm/<token>", methods=["GET", "POST"])
@public
def confirm_consent(token: str):
    """Confirm a pending consent from the link in the confirmation message (one button)."""
    form = ConfirmForm()
    if form.validate_on_submit():
        try:
            event = consents.confirm(db.session(), token[:2000])
        except AssensoError as exc:
            return render("portal/confirm.html", flash_problem(exc), form=None)
        return render("portal/confirmed.html", event=event)
    return render("portal/confirm.html", 400 if request.method == "POST" else 200, form=form)


@bp.post("/language")
@public
def set_language():
    """Remember the chosen language for this browser, then go back."""
    form = LanguageForm()
    if form.validate_on_submit():
        session["lang"] = form.lang.data
    return redirect(_back(form.next.data))


def _back(target: str | None) -> str:
    """``target`` when it is a path on this site, else the home page."""
    target = (target or "")[:2000]
    parts = urlsplit(target)
    local = target.startswith("/") and not target.startswith("//") and not parts.netloc
    if local and "\\" not in target:
        return target
    return url_for("public.index")
