"""Between the campaign form and the campaign services: settings, templates and previews.

Previews render with **placeholder** values only (:data:`PLACEHOLDERS`), never with a real
customer's data; test recipients are not implemented.
"""

from __future__ import annotations

import zoneinfo
from datetime import UTC, datetime, time
from typing import Any

from werkzeug.datastructures import MultiDict

from app.campaigns.checks import policy_purposes
from app.campaigns.models import Campaign, CampaignTemplate
from app.campaigns.placeholders import PLACEHOLDERS
from app.campaigns.render import render_message
from app.campaigns.template_fields import TemplateError, field_usage, validate_template
from app.campaigns.template_sets import TemplateSpec
from app.errors import InvalidInput
from app.marketing.calendar import moment, moment_condition, moment_schedule
from app.policy_sets.in_force import purpose_labels
from app.web.marketing.segment_form import builder_values, segment_from_form


def preview_context(form_name: str, purpose: str, channel: str) -> dict[str, str]:
    """Sender context for a preview: sample links, reason line and offer."""
    return {
        "unsubscribe_url": "https://example.invalid/u/preview",
        "preferences_url": "https://example.invalid/me/",
        "privacy_url": "https://example.invalid/privacy",
        "reason_line": f"You receive this because you agreed to receive {purpose} by {channel}.",
        "purpose_label": purpose_labels().get(purpose, purpose),
        "campaign_name": form_name,
        "brand": "Assenso",
        "offer": "New in wine: our selection for you",
    }


def template_specs(form) -> list[TemplateSpec]:
    """Variant A, and variant B when it has a text, from the form (language ``en``)."""
    specs = [_spec(form, "a", "A")]
    if (form.body_text_b.data or "").strip():
        specs.append(_spec(form, "b", "B"))
    return specs


def _spec(form, suffix: str, variant: str) -> TemplateSpec:
    weight = getattr(form, f"weight_{suffix}").data
    return TemplateSpec(
        body_text=getattr(form, f"body_text_{suffix}").data or "",
        subject=getattr(form, f"subject_{suffix}").data or "",
        body_html=(getattr(form, f"body_html_{suffix}").data or "").strip() or None,
        variant=variant,
        weight=100 if weight is None else weight,
    )


def campaign_settings(form, now: datetime | None = None) -> dict[str, Any]:
    """The service keyword arguments of a valid form (schedule in its time zone)."""
    zone = zoneinfo.ZoneInfo(form.timezone.data)
    settings: dict[str, Any] = {
        "name": form.name.data.strip(),
        "purpose": form.purpose.data,
        "channel": form.channel.data,
        "schedule_kind": form.schedule_kind.data,
        "scheduled_at": None,
        "local_time": form.local_time.data or None,
        "cron": (form.cron.data or "").strip() or None,
        "cron_timezone": form.timezone.data,
        "throttle_per_minute": form.throttle_per_minute.data,
        "holdout_percent": form.holdout_percent.data or 0,
    }
    if form.scheduled_at.data:
        settings["scheduled_at"] = form.scheduled_at.data.replace(tzinfo=zone).astimezone(UTC)
    chosen = moment(form.moment.data) if form.moment.data else None
    if chosen is not None:  # hourly runs; each recipient at the local time on the moment's date
        schedule = moment_schedule(chosen, _time(form.local_time.data) or time(9, 0))
        schedule.pop("segment")  # joins the segment in segment_value
        settings.update(schedule, scheduled_at=None, local_time=None)
    return settings


def _time(text: str | None) -> time | None:
    if not text:
        return None
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def segment_value(form, submitted: MultiDict[str, str]) -> dict[str, Any]:
    """The segment of the builder's inputs and the JSON box (``{}`` when both are empty), with
    the calendar moment's condition when the schedule names one."""
    segment = segment_from_form(submitted, form.segment.data or "")
    chosen = moment(form.moment.data) if form.moment.data else None
    if chosen is None:
        return segment
    if "moment_today" in segment:
        raise InvalidInput(
            "Calendar moment is set both in the schedule and in the segment: keep one."
        )
    at = _time(form.local_time.data) or time(9, 0)
    return segment | moment_condition(chosen, at.hour)


def form_data(campaign: Campaign, templates: list[CampaignTemplate]) -> dict[str, Any]:
    """Form values showing ``campaign`` and its templates (English ones)."""
    zone = campaign.cron_timezone or "UTC"
    data: dict[str, Any] = {
        "name": campaign.name,
        "purpose": campaign.purpose,
        "channel": campaign.channel,
        "segment": builder_values(campaign.segment_json)[1],
        "schedule_kind": campaign.schedule_kind,
        "timezone": zone,
        "local_time": campaign.local_time,
        "cron": campaign.cron,
        "holdout_percent": campaign.holdout_percent,
        "throttle_per_minute": campaign.throttle_per_minute,
        "version": str(campaign.version),
    }
    if campaign.scheduled_at:
        local = campaign.scheduled_at.astimezone(zoneinfo.ZoneInfo(zone))
        data["scheduled_at"] = local.replace(tzinfo=None)
    for template in templates:
        suffix = {"A": "a", "B": "b"}.get(template.variant)
        if suffix and template.language == "en":
            data[f"subject_{suffix}"] = template.subject
            data[f"body_text_{suffix}"] = template.body_text
            data[f"body_html_{suffix}"] = template.body_html or ""
            data[f"weight_{suffix}"] = template.weight
    return data


def preview(form) -> dict[str, Any]:
    """Problems (each naming a template field) and a placeholder rendering of each variant;
    ``failed`` lists the variants that could not be rendered."""
    purposes = policy_purposes(form.purpose.data)
    problems: list[str] = []
    rendered, failed = [], []
    context = preview_context(form.name.data or "", form.purpose.data, form.channel.data)
    for spec in template_specs(form):
        where = f"Variant {spec.variant}: "
        for purpose in purposes:
            problems += [where + p for p in validate_template(purpose, spec)]
        try:
            rendered.append(_rendered(spec, context, form.channel.data))
        except TemplateError as exc:
            problems.append(where + str(exc))
            failed.append(spec.variant)
    return {"problems": list(dict.fromkeys(problems)), "previews": rendered, "failed": failed}


def _rendered(spec: TemplateSpec, context: dict[str, str], channel: str) -> dict[str, Any]:
    """One variant rendered with placeholders and, when it uses fields with a fallback, as a
    customer who shares none of them sees it."""
    usage = field_usage(spec)
    fields = {f: PLACEHOLDERS[f] for f in usage.all if f in PLACEHOLDERS}
    message = render_message(spec, fields, context, channel)
    shown: dict[str, Any] = {
        "variant": spec.variant,
        "subject": message.subject,
        "text": message.text,
        "html": message.html,
        "fallback_fields": sorted(usage.fallback),
    }
    if usage.fallback:
        bare = {f: v for f, v in fields.items() if f not in usage.fallback}
        fallback = render_message(spec, bare, context, channel)
        shown.update(fallback_subject=fallback.subject, fallback_text=fallback.text)
    return shown
