"""Campaign editor: list, create, edit with preview, and state changes (thin views)."""

from __future__ import annotations

from flask import flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from app.campaigns import service, states
from app.campaigns.models import Campaign, CampaignAudit
from app.campaigns.segment_warnings import segment_warnings
from app.campaigns.segments import parse_segment, registered_conditions
from app.errors import AssensoError
from app.extensions import db
from app.policy_sets.in_force import purpose_labels
from app.web.access import roles_required
from app.web.ids import parse_id
from app.web.marketing import MARKETER, bp
from app.web.marketing.editor import (
    campaign_settings,
    form_data,
    preview,
    segment_value,
    template_specs,
)
from app.web.marketing.forms import CHANNEL_LABELS, ActionForm, CampaignForm
from app.web.marketing.segment_form import (
    builder_conditions,
    builder_values,
    input_name,
    submitted_values,
)

ACTIONS = {
    "schedule": service.schedule_campaign,
    "unschedule": service.unschedule_campaign,
    "pause": service.pause_campaign,
    "resume": service.resume_campaign,
    "cancel": service.cancel_campaign,
}
DONE = {
    "schedule": "scheduled",
    "unschedule": "taken back to draft",
    "pause": "paused",
    "resume": "resumed",
    "cancel": "cancelled",
}


def _actor() -> str:
    return f"staff:{current_user.email}"


def _campaign_or_404(campaign_id: int) -> Campaign:
    return service.get_campaign(db.session(), campaign_id)  # NotFound: a 404 (app/web/errors.py)


def _editor(form: CampaignForm, campaign: Campaign | None, status: int, shown=None):
    if request.method == "POST":
        values = submitted_values(request.form)
    else:
        values = builder_values(campaign.segment_json)[0] if campaign else {}
    return render_template(
        "marketing/editor.html",
        form=form,
        campaign=campaign,
        preview=shown,
        conditions=builder_conditions(),
        json_conditions=[c for c in registered_conditions().values() if c.form == "json"],
        segment_values=values,
        input_name=input_name,
    ), status


@bp.get("/campaigns")
@roles_required(MARKETER)
def campaigns():
    """Every campaign with its state (no audience members listed)."""
    rows = db.session.scalars(select(Campaign).order_by(Campaign.id.desc())).all()
    return render_template("marketing/campaigns.html", campaigns=rows)


@bp.route("/campaigns/new", methods=["GET", "POST"])
@roles_required(MARKETER)
def new_campaign():
    """Create a draft; the Preview button renders it with placeholder data instead."""
    form = CampaignForm()
    return _save(form, None)


@bp.route("/campaigns/<int:campaign_id>/edit", methods=["GET", "POST"])
@roles_required(MARKETER)
def edit_campaign(campaign_id: int):
    """Edit a draft (optimistic version check); Preview renders without saving. A campaign
    that is no longer a draft is shown read-only, with the actions possible now."""
    campaign = _campaign_or_404(campaign_id)
    if campaign.status != states.DRAFT:
        refused = states.InvalidTransition("edit", campaign.status)
        status = 409 if request.method == "POST" else 200
        return _overview(campaign, notice=str(refused), read_only=True), status
    templates = service.campaign_templates(db.session(), campaign.id)
    form = CampaignForm(data=None if request.method == "POST" else form_data(campaign, templates))
    return _save(form, campaign)


def _save(form: CampaignForm, campaign: Campaign | None):
    if request.method == "GET" or not form.validate_on_submit():
        return _editor(form, campaign, 400 if form.errors else 200)
    if form.preview.data:
        shown = preview(form)
        shown["warnings"] = _segment_warnings(form)
        return _editor(form, campaign, 400 if shown["failed"] else 200, shown)
    try:
        settings = campaign_settings(form)
        templates = template_specs(form)
        if campaign is None:
            campaign = service.create_campaign(
                db.session(),
                actor=_actor(),
                templates=templates,
                segment=segment_value(form, request.form),
                **settings,
            )
        else:
            version = parse_id(form.version.data)
            service.edit_campaign(
                db.session(),
                campaign.id,
                actor=_actor(),
                version=-1 if version is None else version,
                templates=templates,
                segment=segment_value(form, request.form),
                **settings,
            )
    except AssensoError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return _editor(form, campaign, exc.status)
    flash("Draft saved.", "success")
    return redirect(url_for("marketing.campaign", campaign_id=campaign.id))


def _segment_warnings(form: CampaignForm) -> list[str]:
    """Warnings (with counts) about segment conditions that cannot match under the purpose;
    a segment that does not parse is reported as a problem instead."""
    try:
        segment = parse_segment(segment_value(form, request.form))
    except AssensoError as exc:
        return [str(exc)]
    return [w.message for w in segment_warnings(db.session(), segment, form.purpose.data)]


@bp.post("/campaigns/preview.json")
@roles_required(MARKETER)
def preview_json():
    """JSON preview for the editor's script: problems and placeholder renderings."""
    form = CampaignForm()
    if not form.validate_on_submit():
        return jsonify(problems=_form_errors(form), previews=[], failed=[]), 400
    shown = preview(form)
    shown["warnings"] = _segment_warnings(form)
    return jsonify(shown), 400 if shown["failed"] else 200


def _form_errors(form: CampaignForm) -> list[str]:
    return [
        f"{form[name].label.text}: {' '.join(errors)}"
        for name, errors in form.errors.items()
        if name in form
    ]


@bp.get("/campaigns/<int:campaign_id>")
@roles_required(MARKETER)
def campaign(campaign_id: int):
    """A campaign's settings, templates, possible actions and audit trail."""
    return _overview(_campaign_or_404(campaign_id))


def _overview(row: Campaign, notice: str | None = None, read_only: bool = False) -> str:
    """The campaign page: settings, templates (in full when ``read_only``), the actions
    possible now as buttons, and its history."""
    audit = db.session.scalars(
        select(CampaignAudit).where(CampaignAudit.campaign_id == row.id).order_by(CampaignAudit.id)
    ).all()
    return render_template(
        "marketing/campaign.html",
        campaign=row,
        audit=audit,
        actions=states.possible_actions(row.status),
        templates=service.campaign_templates(db.session(), row.id),
        form=ActionForm(),
        notice=notice,
        read_only=read_only,
        purpose_label=purpose_labels().get(row.purpose, row.purpose),
        channel_label=CHANNEL_LABELS.get(row.channel, row.channel),
    )


@bp.post("/campaigns/<int:campaign_id>/<any(schedule,unschedule,pause,resume,cancel):action>")
@roles_required(MARKETER)
def campaign_action(campaign_id: int, action: str):
    """Schedule, unschedule, pause, resume or cancel, with the version the page showed."""
    row = _campaign_or_404(campaign_id)
    form = ActionForm()
    if not form.validate_on_submit():
        flash("The form expired; reload the page and try again.", "error")
        return redirect(url_for("marketing.campaign", campaign_id=row.id))
    try:
        ACTIONS[action](db.session(), row.id, actor=_actor(), version=int(form.version.data))
    except AssensoError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(url_for("marketing.campaign", campaign_id=row.id))
    flash(f"Campaign {DONE[action]}.", "success")
    return redirect(url_for("marketing.campaign", campaign_id=row.id))
