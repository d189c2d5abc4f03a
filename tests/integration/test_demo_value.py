"""The demo shows customer value, classes and conversions with real figures."""

from __future__ import annotations

import json

from sqlalchemy import select

from app.campaigns.models import Campaign
from app.demo.seed import seed_demo
from app.marketing.models import ValueFit
from app.marketing.results import conversions


def test_a_fresh_demo_has_a_fit_classes_and_conversions(app, session):
    seed_demo(session, customers=120)
    fit = session.scalars(select(ValueFit)).one()
    assert fit.trigger == "demo" and fit.customers >= 20 and fit.repeat_customers >= 10
    counts = json.loads(fit.class_counts_json)
    assert sum(counts.values()) == fit.customers
    assert sum(1 for n in counts.values() if n) >= 3
    campaign = session.scalars(select(Campaign)).one()
    groups = {c.group: c for c in conversions(session, campaign.id)}
    assert set(groups) == {"A", "holdout"}
    assert all(g.measurable for g in groups.values())
    assert sum(g.converted for g in groups.values()) > 0
