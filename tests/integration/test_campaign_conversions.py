"""Conversions are attributed to the message sent, within the window, against the holdout."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from app.campaigns import service
from app.campaigns.models import CampaignDecision, CampaignRun
from app.marketing.results import conversions
from app.outbox.models import OutboxEntry
from app.transaction import transaction
from app.vault import service as vault
from tests.integration.builders import grant, make_customer

T0 = datetime(2026, 10, 1, 9, tzinfo=UTC)


def _buyer(session, *purchase_days: float, profiled: bool = True) -> int:
    history = [
        {"sku": "SKU-1", "category": "wine", "amount_cents": 1500,
         "at": (T0 + timedelta(days=d)).strftime("%Y-%m-%dT%H:%M:%SZ")}
        for d in (-30, *purchase_days)
    ]  # fmt: skip
    customer = make_customer(session, profile={"purchase_history": json.dumps(history)})
    vault.set_sharing(session, customer, {("purchase_history", "recommendations"): profiled})
    grant(session, customer, "recommendations")
    return customer.id


def test_purchases_count_from_the_message_sent_and_uplift_is_against_the_holdout(session):
    campaign = service.create_campaign(
        session, actor="test", name="Autumn", purpose="offers", channel="email",
        templates=[{"subject": "Hi", "body_text": "Hello"}],
    )  # fmt: skip
    sent_late = _buyer(session, 1)  # bought after the run but before their message went out
    converted = _buyer(session, 3)
    outside = _buyer(session, 20)  # after the 14-day window
    not_measured = _buyer(session, 3, profiled=False)
    holdout_buyer, holdout_idle = _buyer(session, 5), _buyer(session)
    with transaction(session):
        run = CampaignRun(campaign_id=campaign.id, scheduled_for=T0, status="finished")
        session.add(run)
        session.flush()
        for cid in (sent_late, converted, outside, not_measured, holdout_buyer, holdout_idle):
            holdout = cid in (holdout_buyer, holdout_idle)
            session.add(CampaignDecision(
                run_id=run.id, customer_id=cid, outcome="allow", rule_id="r", policy_hash="h",
                variant=None if holdout else "A", holdout=holdout,
            ))  # fmt: skip
            if not holdout:
                session.add(OutboxEntry(
                    idempotency_key=f"k{cid}", campaign_id=campaign.id, run_id=run.id,
                    customer_id=cid, channel="email", purpose="offers", variant="A",
                    status="sent", sent_at=T0 + timedelta(days=2 if cid == sent_late else 0),
                ))  # fmt: skip

    groups = {c.group: c for c in conversions(session, campaign.id)}

    assert list(groups) == ["A", "holdout"]
    a, holdout = groups["A"], groups["holdout"]
    assert (a.members, a.measurable, a.converted) == (4, 3, 1)
    assert (holdout.members, holdout.measurable, holdout.converted) == (2, 2, 1)
    assert holdout.uplift is None
    assert a.uplift is not None
    assert abs(a.uplift.difference - (1 / 3 - 1 / 2)) < 1e-9
    assert a.uplift.low < a.uplift.difference < a.uplift.high and not a.uplift.significant
