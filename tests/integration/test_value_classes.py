"""Profitability classes recomputed in SQL over the stored scores; movement between fits."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy import select

from app.marketing.models import CustomerValue, ValueFit
from app.marketing.value_store import reclassify
from app.transaction import transaction
from tests.integration.builders import make_customer

#: (margin so far, FLTV) in cents, and the class each must get.
STORED = [
    (1000, 1000, "most_valuable"),
    (1000, 10, "retain"),
    (10, 1000, "most_growable"),
    *[(10, 10, "maintain")] * 6,
    (-500, 20, "below_zero"),
]


def fit_row(session) -> ValueFit:
    fit = ValueFit(
        trigger="test",
        time_unit="week",
        customers=0,
        repeat_customers=0,
        transactions=0,
        bgnbd_r=1,
        bgnbd_alpha=1,
        bgnbd_a=1,
        bgnbd_b=1,
        bgnbd_log_likelihood=-1,
        gg_p=1,
        gg_q=2,
        gg_gamma=1,
        gg_log_likelihood=-1,
        margin_percent=30,
        discount_rate_percent=10,
        horizon_months=36,
        cost_per_order_cents=0,
        seconds=0,
    )
    session.add(fit)
    session.flush()
    return fit


def stored(session, rows) -> list[int]:
    ids = [make_customer(session).id for _ in rows]
    with transaction(session):
        for cid, (current, fltv, _) in zip(ids, rows, strict=True):
            session.add(
                CustomerValue(
                    customer_id=cid,
                    recency_score=3,
                    frequency_score=3,
                    monetary_score=3,
                    tier="loyal",
                    computed_at=datetime.now(UTC),
                    current_value_cents=current,
                    fltv_cents=fltv,
                )
            )
    return ids


def classes_of(session, ids) -> list[str]:
    query = select(CustomerValue.customer_id, CustomerValue.value_class)
    found = dict(session.execute(query).tuples().all())
    return [found[cid] for cid in ids]


def test_classes_follow_the_documented_rules_and_the_top_fifth(app, session):
    ids = stored(session, STORED)
    with transaction(session):
        fit = fit_row(session)
        reclassify(session, fit)
    assert classes_of(session, ids) == [expected for _, _, expected in STORED]
    assert (fit.high_current_cents, fit.high_potential_cents) == (1000, 1000)
    assert json.loads(fit.class_counts_json) == {
        "most_valuable": 1,
        "retain": 1,
        "most_growable": 1,
        "maintain": 6,
        "below_zero": 1,
    }
    assert json.loads(fit.movement_json) == {
        "new": {
            "most_valuable": 1,
            "retain": 1,
            "most_growable": 1,
            "maintain": 6,
            "below_zero": 1,
        },
    }


def test_a_second_classification_counts_moves_from_the_first(app, session):
    ids = stored(session, STORED)
    with transaction(session):
        reclassify(session, fit_row(session))
        row = session.get(CustomerValue, ids[3])
        row.current_value_cents, row.fltv_cents = 5000, 5000
    with transaction(session):
        fit = fit_row(session)
        reclassify(session, fit, left={"maintain": 2})
    moves = json.loads(fit.movement_json)
    assert moves["maintain"] == {"most_valuable": 1, "maintain": 5, "left": 2}
    assert session.get(CustomerValue, ids[3]).value_class == "most_valuable"
    assert fit.high_current_cents == 1000  # the top fifth now starts at the 8th of 9 values


def test_without_anyone_to_compare_nobody_is_high(app, session):
    ids = stored(session, [(-100, 20, "below_zero")])
    with transaction(session):
        fit = fit_row(session)
        reclassify(session, fit)
    assert classes_of(session, ids) == ["below_zero"]
    assert fit.high_current_cents is None and fit.high_potential_cents is None
