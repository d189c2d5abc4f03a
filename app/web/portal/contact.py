"""Portal page "How you may contact me": consents per purpose x channel and contact limits."""

from __future__ import annotations

from datetime import time

from flask import abort, flash, redirect, request, url_for
from flask_babel import gettext as _

from app.errors import AssensoError, InvalidInput
from app.extensions import db
from app.self_service import consents
from app.self_service.contact import ContactLimits, limits_of, save_limits, zone_of
from app.vault.preferences import MAX_WINDOWS, Window
from app.web.access import customer_required
from app.web.ids import parse_id
from app.web.portal import bp
from app.web.portal.forms import ActionForm, ConsentForm, LimitsForm
from app.web.portal.rendering import current_language, customer, evidence, flash_problem, render

WEEKDAYS = range(7)
UNREADABLE = "The form could not be read. Please reload the page and try again."


def _contact_page(status: int = 200, limits_form: LimitsForm | None = None):
    me = customer()
    limits = limits_of(db.session(), me)
    if limits_form is None:
        limits_form = LimitsForm(
            version=str(limits.version),
            weekly_cap=limits.weekly_cap,
            paused_until=limits.pause_until,
            preferred_channel=limits.preferred_channel or "",
        )
    return render(
        "portal/contact.html",
        status,
        purposes=consents.overview(db.session(), me, current_language()),
        limits=limits,
        limits_form=limits_form,
        action_form=ActionForm(),
        timezone=zone_of(me).key,
        objected_at=me.objected_at,
        weekdays=WEEKDAYS,
        max_windows=MAX_WINDOWS,
    )


@bp.get("/contact")
@customer_required
def contact():
    """Consents, contact windows, weekly cap, pause, preferred channel and objection."""
    return _contact_page()


@bp.route("/contact/give/<purpose>/<channel>", methods=["GET", "POST"])
@customer_required
def give_consent(purpose: str, channel: str):
    """Show the exact notice first; agreeing records consent under that notice version."""
    me = customer()
    try:
        notice = consents.notice_for(db.session(), me, purpose, current_language())
        consents.check_choices(me.jurisdiction, [(purpose, channel)])
    except AssensoError:
        abort(404)
    choice = next(
        c
        for p in consents.overview(db.session(), me, current_language())
        for c in p.choices
        if (c.purpose, c.channel) == (purpose, channel)
    )
    form = ConsentForm(version=str(choice.version), notice_id=str(notice.id))
    status = 200
    if form.validate_on_submit():
        try:
            token = consents.give(
                db.session(),
                me,
                purpose=purpose,
                channel=channel,
                notice_id=_number(form.notice_id.data),
                expected_version=_number(form.version.data),
                evidence=evidence(),
            )
        except AssensoError as exc:
            status = flash_problem(exc)
        else:
            if token:
                flash(_("Almost done: follow the link we sent you to confirm."), "info")
            else:
                flash(_("Thank you. Your consent is recorded."), "success")
            return redirect(url_for("portal.contact"))
    elif request.method == "POST":
        status = 400
        flash(_("The form could not be read. Please reload the page and try again."), "error")
    label = consents.purpose_label(me, purpose, current_language())
    return render("portal/give.html", status, form=form, notice=notice, label=label, choice=choice)


@bp.post("/contact/withdraw/<purpose>/<channel>")
@customer_required
def withdraw_consent(purpose: str, channel: str):
    """Withdraw one consent in one action (never refused for a stale page)."""
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        done = consents.withdraw(
            db.session(), customer(), purpose=purpose, channel=channel, evidence=evidence()
        )
    except AssensoError:
        abort(404)
    flash(
        _("Withdrawn. You will not receive these messages any more.")
        if done
        else _("There was nothing to withdraw."),
        "success" if done else "info",
    )
    return redirect(url_for("portal.contact"))


@bp.post("/contact/object")
@customer_required
def object_to_marketing():
    """Object to all direct marketing (GDPR Art. 21) with one button."""
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        consents.object_to_all(db.session, customer(), evidence=evidence())
    except AssensoError as exc:
        flash_problem(exc)
        return redirect(url_for("portal.contact"))
    flash(_("Recorded: you will receive no direct marketing at all."), "success")
    return redirect(url_for("portal.contact"))


@bp.post("/contact/limits")
@customer_required
def save_contact_limits():
    """Save contact windows, weekly cap, pause and preferred channel (versioned)."""
    form = LimitsForm()
    if not form.validate_on_submit():
        flash(_("Please correct the highlighted fields."), "error")
        return _contact_page(400, form)
    try:
        limits = ContactLimits(
            windows=parse_window_rows(request.form),
            weekly_cap=form.weekly_cap.data,
            pause_until=form.paused_until.data,
            preferred_channel=form.preferred_channel.data or None,
            version=_number(form.version.data),
        )
        save_limits(db.session, customer(), limits)
    except AssensoError as exc:
        return _contact_page(flash_problem(exc), form)
    flash(_("Your contact limits are saved."), "success")
    return redirect(url_for("portal.contact") + "#limits")


def parse_window_rows(posted) -> tuple[Window, ...]:
    """Contact windows from rows ``w<i>-day``, ``w<i>-start``, ``w<i>-end``; empty rows skipped."""
    windows = []
    for index in range(MAX_WINDOWS + 1):
        prefix = f"w{index}-"
        days = posted.getlist(prefix + "day")
        start, end = posted.get(prefix + "start", ""), posted.get(prefix + "end", "")
        if posted.get(prefix + "remove") or not (days or start or end):
            continue
        try:
            weekdays = frozenset(int(d) for d in days)
            begin, finish = time.fromisoformat(start), time.fromisoformat(end)
        except ValueError:
            raise InvalidInput(
                "Contact windows need days (Monday to Sunday) and a start and end time that differ."
            ) from None
        if not weekdays or not weekdays <= set(WEEKDAYS) or begin == finish:
            raise InvalidInput(
                "Contact windows need days (Monday to Sunday) and a start and end time that differ."
            )
        windows.append(Window(weekdays, begin.replace(second=0), finish.replace(second=0)))
    if len(windows) > MAX_WINDOWS:
        raise InvalidInput(f"Keep at most {MAX_WINDOWS} contact windows.")
    return tuple(windows)


def _number(text: str | None) -> int:
    number = parse_id(text)
    if number is None:
        raise InvalidInput(UNREADABLE)
    return number
