"""Portal pages: the overview and "My data" (fields, rectification, sharing, settings)."""

from __future__ import annotations

from functools import cache

from flask import flash, redirect, request, session, url_for
from flask_babel import gettext as _

from app.errors import AssensoError
from app.extensions import LANGUAGES, db
from app.self_service import consents, profile
from app.self_service.contact import limits_of
from app.vault.fields import FIELDS
from app.vault.service import read_own_profile, sharing_matrix
from app.vault.settings import Settings, change_settings, settings_of, time_zones
from app.web.access import customer_required
from app.web.portal import bp
from app.web.portal.forms import SettingsForm, VersionedForm
from app.web.portal.rendering import (
    current_language,
    customer,
    flash_problem,
    remember_customer_language,
    render,
)

bp.before_request(remember_customer_language)


@bp.get("/")
@customer_required
def home():
    """The customer's overview of what is held and how they may be contacted."""
    me = customer()
    return render(
        "portal/home.html",
        held=len(read_own_profile(db.session, me)),
        purposes=consents.overview(db.session, me, current_language()),
        limits=limits_of(db.session, me),
        objected_at=me.objected_at,
    )


@cache
def _zone_choices() -> list[tuple[str, str]]:
    return [(zone, zone.replace("_", " ")) for zone in sorted(time_zones())]


def _settings_form(me, formdata=None) -> SettingsForm:
    """The settings form, showing the account's values unless a submission is given."""
    current = settings_of(me)
    if formdata is None:
        form = SettingsForm(
            formdata=None,
            version=current.version,
            language=current.language,
            timezone=current.timezone,
        )
    else:
        form = SettingsForm()
    form.timezone.choices = _zone_choices()
    return form


def _data_page(
    status: int = 200,
    errors: dict | None = None,
    submitted: dict | None = None,
    settings_form: SettingsForm | None = None,
):
    me = customer()
    values = read_own_profile(db.session(), me)
    if submitted:
        values = {**values, **submitted}
    matrix = sharing_matrix(db.session(), me.id)
    return render(
        "portal/data.html",
        status,
        fields=FIELDS,
        editable=profile.EDITABLE,
        values=values,
        errors=errors or {},
        history=profile.profile_history(db.session(), me),
        grid=profile.sharing_grid(me),
        shared={key for key, row in matrix.items() if row.shared},
        labels={p: consents.purpose_label(me, p) for p, _ in profile.sharing_grid(me)},
        profile_form=VersionedForm(version=profile.profile_fingerprint(db.session(), me)),
        sharing_form=VersionedForm(version=profile.sharing_fingerprint(db.session(), me)),
        settings_form=settings_form or _settings_form(me),
    )


@bp.get("/data")
@customer_required
def data():
    """Every field held, decrypted for its owner, with history and sharing choices."""
    return _data_page()


@bp.post("/data/profile")
@customer_required
def save_profile():
    """Rectify the fields the customer changed (refused when the page was stale)."""
    form = VersionedForm()
    if not form.validate_on_submit():
        flash(_("The form could not be read. Please reload the page and try again."), "error")
        return _data_page(400)
    submitted = {name: request.form.get(name, "")[:2000] for name in profile.EDITABLE}
    try:
        changed = profile.save_profile(db.session, customer(), submitted, form.version.data)
    except profile.ProfileErrors as exc:
        flash(_("Please correct the highlighted fields."), "error")
        return _data_page(400, {k: _(v) for k, v in exc.errors.items()}, submitted)
    except AssensoError as exc:
        return _data_page(flash_problem(exc))
    if changed:
        flash(_("Saved. Your previous values are kept in the history below."), "success")
    else:
        flash(_("Nothing was changed."), "info")
    return redirect(url_for("portal.data"))


@bp.post("/data/sharing")
@customer_required
def save_sharing():
    """Record shared / not shared for every field x purpose (refused when the page was stale)."""
    form = VersionedForm()
    if not form.validate_on_submit():
        flash(_("The form could not be read. Please reload the page and try again."), "error")
        return _data_page(400)
    wanted = set()
    for key in request.form.getlist("share"):
        field, _sep, purpose = key.partition(":")
        wanted.add((field, purpose))
    try:
        profile.save_sharing(db.session, customer(), wanted, form.version.data)
    except AssensoError as exc:
        return _data_page(flash_problem(exc))
    flash(_("Your sharing choices are saved."), "success")
    return redirect(url_for("portal.data") + "#sharing")


@bp.post("/data/settings")
@customer_required
def save_settings():
    """Change the account's language and time zone, the ones every message and decision use."""
    me = customer()
    form = _settings_form(me, request.form)
    if not form.validate_on_submit():
        if set(form.errors) - {"language", "timezone"}:
            flash(_("The form could not be read. Please reload the page and try again."), "error")
        else:
            flash(_("Please correct the highlighted fields."), "error")
        return _data_page(400, settings_form=form)
    try:
        wanted = Settings(language=form.language.data, timezone=form.timezone.data)
        changed = change_settings(db.session, me, wanted, form.version.data)
    except AssensoError as exc:
        return _data_page(flash_problem(exc))
    if changed and wanted.language in LANGUAGES:
        session["lang"] = wanted.language  # the portal speaks it too, from this page on
    if changed:
        flash(_("Saved. We use these settings for every message from now on."), "success")
    else:
        flash(_("Nothing was changed."), "info")
    return redirect(url_for("portal.data") + "#settings")
