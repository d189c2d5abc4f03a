"""A demo campaign run three weeks before the demo was loaded, with a holdout group.

The demo customers' purchases (:mod:`app.demo.people`) run up to the day the demo is loaded,
so this campaign's results compare real conversions of its recipients with its holdout.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.campaigns.models import Campaign
from app.campaigns.run import start_run
from app.campaigns.service import create_campaign, schedule_campaign
from app.models_base import utcnow

NAME = "Autumn selection (demo)"
DAYS_AGO = 21
TEMPLATE = {
    "subject": "Our autumn selection for you, {{ first_name }}",
    "body_text": "Hello {{ first_name }},\n\n{{ offer }}.\n\nThe Assenso demo shop",
}


def seed_past_campaign(session: Session) -> None:
    """Create, schedule and run the demo campaign as of :data:`DAYS_AGO` days ago (once)."""
    if session.scalar(select(Campaign.id).where(Campaign.name == NAME)) is not None:
        return
    campaign = create_campaign(
        session,
        actor="demo-seed",
        name=NAME,
        purpose="offers",
        channel="email",
        templates=[TEMPLATE],
        holdout_percent=20,
    )
    schedule_campaign(session, campaign.id, actor="demo-seed")
    start_run(session, campaign.id, utcnow() - timedelta(days=DAYS_AGO), actor="demo-seed")
