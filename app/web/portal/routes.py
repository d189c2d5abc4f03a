"""Portal pages: the overview and "My data" (fields, rectification, sharing, settings)."""

from __future__ import annotations

from flask import flash, redirect, request, session, url_for
from flask_babel import gettext as _

from app.errors import AssensoError, Conflict
from app.extensions import LANGUAGES, db
from app.self_service import consents, profile
from app.self_service.contact import limits_of
from app.self_service.languages import language_choices
from app.self_service.timezones import zone_choices
from app.vault.fields import FIELDS
from app.vault.service import read_own_profile, sharing_matrix
from app.vault.settings import Settings, change_settings, settings_of
from app.web.access import customer_required
from app.web.portal import bp
from app.web.portal.forms import SettingsForm, VersionedForm
from app.web.portal.rendering import (
    current_language,
    customer,
    flash_problem,
    kept_after_conflict,
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
    form.timezone.choices = zone_choices(current.timezone, current_language())
    form.language.choices = language_choices(current_language())
    return form


def _data_page(
    status: int = 200,
    errors: dict | None = None,
    submitted: dict | None = None,
    settings_form: SettingsForm | None = None,
    wanted_sharing: set[tuple[str, str]] | None = None,
):
    """The My data page; ``submitted``, ``settings_form`` and ``wanted_sharing`` show what the
    customer typed instead of what is stored (after an error or a conflict)."""
    me = customer()
    values = read_own_profile(db.session(), me)
    if submitted:
        values = {**values, **submitted}
    matrix = sharing_matrix(db.session(), me.id)
    shared = {key for key, row in matrix.items() if row.shared}
    return render(
        "portal/data.html",
        status,
        fields=FIELDS,
        editable=profile.EDITABLE,
        values=values,
        errors=errors or {},
        history=profile.profile_history(db.session(), me),
        grid=profile.sharing_grid(me),
        shared=shared if wanted_sharing is None else wanted_sharing,
        labels={p: consents.purpose_label(me, p) for p, _ in profile.sharing_grid(me)},
        # The current versions, never the posted ones: after a conflict, saving again applies
        # what the page shows.
        profile_form=VersionedForm(
            formdata=None, version=profile.profile_fingerprint(db.session(), me)
        ),
        sharing_form=VersionedForm(
            formdata=None, version=profile.sharing_fingerprint(db.session(), me)
        ),
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
    except Conflict as exc:
        return _data_page(kept_after_conflict(exc), submitted=submitted)
    except AssensoError as exc:
        return _data_page(flash_problem(exc), submitted=submitted)
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
    except Conflict as exc:
        return _data_page(kept_after_conflict(exc), wanted_sharing=wanted)
    except AssensoError as exc:
        return _data_page(flash_problem(exc), wanted_sharing=wanted)
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
    except Conflict as exc:
        form.version.data = settings_of(me).version  # saving again applies what is shown
        return _data_page(kept_after_conflict(exc), settings_form=form)
    except AssensoError as exc:
        return _data_page(flash_problem(exc), settings_form=form)
    if changed and wanted.language in LANGUAGES:
        session["lang"] = wanted.language  # the portal speaks it too, from this page on
    if changed:
        flash(_("Saved. We use these settings for every message from now on."), "success")
    else:
        flash(_("Nothing was changed."), "info")
    return redirect(url_for("portal.data") + "#settings")
