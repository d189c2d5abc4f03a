"""Customer sign-up, double opt-in confirmation links and the language switcher."""

from __future__ import annotations

import zoneinfo
from functools import cache
from urllib.parse import urlsplit

from flask import current_app, flash, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_login import login_user
from wtforms import SelectChoice

from app.errors import AssensoError, NotFound
from app.extensions import db, limiter
from app.ledger.notices import current_notice
from app.portal import consents
from app.portal.accounts import SignUpRequest, minimum_age, sign_up
from app.web.access import public
from app.web.auth import bp
from app.web.auth.portal_forms import PASSWORD_HINT, ConfirmForm, LanguageForm, SignUpForm
from app.web.ids import parse_id
from app.web.portal.rendering import current_language, evidence, flash_problem, render

DEFAULT_TIMEZONE = "Europe/Rome"


def signup_limit() -> str:
    """Sign-up and password-reset attempts allowed per client address."""
    return current_app.config.get("PORTAL_SIGNUP_RATE_LIMIT", "5 per minute")


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
            notice = current_notice(db.session, purpose, current_language())
        except NotFound:
            continue
        offers.append({"purpose": purpose, "notice": notice, "channels": list(policy_channels)})
    return offers


@bp.route("/signup", methods=["GET", "POST"])
@public
@limiter.limit(signup_limit, methods=["POST"])
def signup():
    """Create a customer account; every consent is an explicit, unticked choice."""
    jurisdiction = current_app.config["DEFAULT_JURISDICTION"]
    form = SignUpForm(language=current_language(), timezone=DEFAULT_TIMEZONE)
    form.timezone.choices = _time_zones()
    offers = _offers(jurisdiction)
    age = minimum_age(jurisdiction)
    status = 200
    if form.validate_on_submit():
        wanted = _request_from(form, offers)
        try:
            result = sign_up(db.session, wanted, jurisdiction=jurisdiction, evidence=evidence())
        except AssensoError as exc:
            status = flash_problem(exc)
        else:
            session.clear()
            session["lang"] = wanted.language
            login_user(result.customer)
            if result.pending and result.confirmation_sent:
                flash(_("Welcome! Check your e-mail to confirm your choices."), "info")
            elif result.pending:
                flash(_("Welcome! We could not send the confirmation yet."), "error")
            else:
                flash(_("Welcome! Your account is ready."), "success")
            return redirect(url_for("portal.contact"))
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
            event = consents.confirm(db.session, token[:2000])
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
