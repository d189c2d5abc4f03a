"""Campaign services: create, edit, schedule, pause, resume, cancel — each audited.

Every service receives the session, owns its transaction, records a ``CampaignAudit`` row
with the actor, and raises domain errors (``InvalidInput``, ``NotFound``,
``InvalidTransition``, ``StaleCampaign``, ``CampaignInvalid``) whose messages name no person.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from app.campaigns import states
from app.campaigns.checks import campaign_problems, check_settings
from app.campaigns.models import Campaign, CampaignAudit, CampaignTemplate
from app.campaigns.segments import segment_json
from app.campaigns.template_sets import TemplateSpec, check_spec
from app.errors import InvalidInput, NotFound
from app.models_base import rows_changed, utcnow
from app.outbox.models import OutboxEntry
from app.transaction import transaction

#: Settings a draft's ``edit_campaign`` may change (besides ``segment`` and ``templates``).
SETTINGS = (
    "name",
    "purpose",
    "channel",
    "schedule_kind",
    "scheduled_at",
    "local_time",
    "cron",
    "cron_timezone",
    "throttle_per_minute",
    "holdout_percent",
)
#: ``last_error`` marking outbox entries held back while their campaign is paused.
HELD_MARK = "held: campaign paused"


def get_campaign(session: Session, campaign_id: int) -> Campaign:
    """The campaign with ``campaign_id``; raises ``NotFound``."""
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise NotFound(f"There is no campaign #{campaign_id}.")
    return campaign


def campaign_templates(session: Session, campaign_id: int) -> list[CampaignTemplate]:
    """The campaign's templates, by variant and language."""
    query = select(CampaignTemplate).where(CampaignTemplate.campaign_id == campaign_id)
    return list(
        session.scalars(query.order_by(CampaignTemplate.variant, CampaignTemplate.language))
    )


def record_audit(
    session: Session, campaign: Campaign, actor: str, action: str, **detail: Any
) -> None:
    """Add an audit row (in the caller's transaction); ``detail`` holds no personal data."""
    text = json.dumps(detail, sort_keys=True, default=str) if detail else None
    session.add(CampaignAudit(campaign_id=campaign.id, actor=actor, action=action, detail=text))


def create_campaign(
    session: Session,
    *,
    actor: str,
    name: str,
    purpose: str,
    channel: str,
    templates: Iterable[TemplateSpec | Mapping[str, object]] = (),
    segment: str | Mapping[str, Any] | None = None,
    **settings: Any,
) -> Campaign:
    """Create a draft campaign with its templates and segment."""
    _check_actor(actor)
    values = {"name": name, "purpose": purpose, "channel": channel, **settings}
    specs = _specs(templates)
    check_settings(_known(values))
    with transaction(session):
        campaign = Campaign(
            created_by=actor, status=states.DRAFT, segment_json=segment_json(segment), **values
        )
        session.add(campaign)
        session.flush()
        _replace_templates(session, campaign, specs)
        record_audit(session, campaign, actor, "create", templates=len(specs))
    return campaign


def edit_campaign(
    session: Session, campaign_id: int, *, actor: str, version: int, **changes: Any
) -> Campaign:
    """Change a draft; ``version`` must be the one the editor read (optimistic locking)."""
    _check_actor(actor)
    segment = changes.pop("segment", None)
    specs = _specs(changes.pop("templates")) if "templates" in changes else None
    check_settings(_known(changes))
    with transaction(session):
        campaign = lock_campaign(session, campaign_id, version)
        if campaign.status != states.DRAFT:
            raise states.InvalidTransition("edit", campaign.status)
        check_settings({**{k: getattr(campaign, k) for k in SETTINGS}, **changes})
        for key, value in changes.items():
            setattr(campaign, key, value)
        if segment is not None:
            campaign.segment_json = segment_json(segment)
        if specs is not None:
            _replace_templates(session, campaign, specs)
        _bump(campaign)
        changed = sorted([*changes, *(["segment"] if segment is not None else [])])
        record_audit(session, campaign, actor, "edit", fields=changed, templates=specs is not None)
    return campaign


def schedule_campaign(
    session: Session, campaign_id: int, *, actor: str, version: int | None = None
) -> Campaign:
    """Schedule a draft; refuses (``CampaignInvalid``) with every problem found."""
    with transaction(session):
        campaign = lock_campaign(session, campaign_id, version)
        states.next_state("schedule", campaign.status)
        problems = campaign_problems(campaign, campaign_templates(session, campaign.id))
        if problems:
            raise states.CampaignInvalid(problems)
        transition(session, campaign, "schedule", actor=actor)
    return campaign


def unschedule_campaign(
    session: Session, campaign_id: int, *, actor: str, version: int | None = None
) -> Campaign:
    """Take a scheduled campaign back to draft so it can be edited."""
    return _act(session, campaign_id, "unschedule", actor, version)


def pause_campaign(
    session: Session, campaign_id: int, *, actor: str, version: int | None = None
) -> Campaign:
    """Pause: no new run starts and messages not yet claimed by a worker are held back."""
    with transaction(session):
        campaign = lock_campaign(session, campaign_id, version)
        transition(session, campaign, "pause", actor=actor, held=_hold_outbox(session, campaign.id))
    return campaign


def resume_campaign(
    session: Session, campaign_id: int, *, actor: str, version: int | None = None
) -> Campaign:
    """Resume a paused campaign: held messages are released (the worker re-checks each)."""
    with transaction(session):
        campaign = lock_campaign(session, campaign_id, version)
        released = _release_outbox(session, campaign.id)
        action = "resume_running" if _has_open_run(session, campaign.id) else "resume"
        transition(session, campaign, action, actor=actor, released=released)
    return campaign


def cancel_campaign(
    session: Session, campaign_id: int, *, actor: str, version: int | None = None
) -> Campaign:
    """Cancel for good: messages not yet claimed by a worker are cancelled."""
    with transaction(session):
        campaign = lock_campaign(session, campaign_id, version)
        states.next_state("cancel", campaign.status)
        cancelled = rows_changed(
            session,
            update(OutboxEntry)
            .where(OutboxEntry.campaign_id == campaign.id, OutboxEntry.status.in_(_WAITING))
            .values(status="cancelled", last_error="campaign cancelled"),
        )
        transition(session, campaign, "cancel", actor=actor, cancelled=cancelled)
    return campaign


def transition(
    session: Session, campaign: Campaign, action: str, *, actor: str, **detail: Any
) -> None:
    """Apply ``action`` to ``campaign`` (in the caller's transaction) and audit it."""
    before = campaign.status
    campaign.status = states.next_state(action, before)
    _bump(campaign)
    record_audit(
        session, campaign, actor, action, **{"from": before, "to": campaign.status}, **detail
    )


_WAITING = ("pending",)


def _hold_outbox(session: Session, campaign_id: int) -> int:
    return rows_changed(
        session,
        update(OutboxEntry)
        .where(OutboxEntry.campaign_id == campaign_id, OutboxEntry.status == "pending")
        .values(status="cancelled", last_error=HELD_MARK),
    )


def _release_outbox(session: Session, campaign_id: int) -> int:
    return rows_changed(
        session,
        update(OutboxEntry)
        .where(
            OutboxEntry.campaign_id == campaign_id,
            OutboxEntry.status == "cancelled",
            OutboxEntry.last_error == HELD_MARK,
        )
        .values(status="pending", last_error=None),
    )


def _has_open_run(session: Session, campaign_id: int) -> bool:
    from app.campaigns.models import CampaignRun

    query = select(CampaignRun.id).where(
        CampaignRun.campaign_id == campaign_id, CampaignRun.status.in_(("resolving", "sending"))
    )
    return session.scalar(query.limit(1)) is not None


def _act(session: Session, campaign_id: int, action: str, actor: str, version: int | None):
    with transaction(session):
        campaign = lock_campaign(session, campaign_id, version)
        transition(session, campaign, action, actor=actor)
    return campaign


def lock_campaign(session: Session, campaign_id: int, version: int | None = None) -> Campaign:
    """Load the campaign for update (in the caller's transaction); check ``version`` if given."""
    query = select(Campaign).where(Campaign.id == campaign_id).with_for_update()
    campaign = session.scalar(query.execution_options(populate_existing=True))
    if campaign is None:
        raise NotFound(f"There is no campaign #{campaign_id}.")
    if version is not None and version != campaign.version:
        raise states.StaleCampaign(version, campaign.version)
    return campaign


def _bump(campaign: Campaign) -> None:
    campaign.version += 1
    campaign.updated_at = utcnow()


def _specs(templates: Iterable[TemplateSpec | Mapping[str, object]]) -> list[TemplateSpec]:
    specs = [t if isinstance(t, TemplateSpec) else TemplateSpec.from_mapping(t) for t in templates]
    for spec in specs:
        check_spec(spec)
    keys = [(s.variant, s.language) for s in specs]
    if len(keys) != len(set(keys)):
        raise InvalidInput("Each variant has at most one template per language.")
    return specs


def _replace_templates(session: Session, campaign: Campaign, specs: Sequence[TemplateSpec]) -> None:
    session.execute(delete(CampaignTemplate).where(CampaignTemplate.campaign_id == campaign.id))
    for spec in specs:
        session.add(
            CampaignTemplate(
                campaign_id=campaign.id,
                variant=spec.variant,
                weight=spec.weight,
                language=spec.language,
                subject=spec.subject,
                body_text=spec.body_text,
                body_html=spec.body_html or None,
            )
        )


def _known(values: Mapping[str, Any]) -> Mapping[str, Any]:
    unknown = set(values) - set(SETTINGS)
    if unknown:
        raise InvalidInput(f"Unknown campaign setting {sorted(unknown)[0]!r}.")
    return values


def _check_actor(actor: str) -> None:
    if not isinstance(actor, str) or not 0 < len(actor) <= 120:
        raise InvalidInput("Every campaign action needs an actor.")
