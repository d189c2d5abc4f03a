"""Moments at each customer's time: local hour in their own zone, their country, by rule."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from app.campaigns.segments import SegmentContext, parse_segment
from app.customers.models import Customer
from app.errors import InvalidInput
from app.marketing.moments import birthday_forecast, zone_countries
from app.vault import service as vault
from app.vault.models import VaultAccess
from tests.integration.builders import grant, make_customer

ZONES = ("Europe/Rome", "Europe/Berlin", "America/New_York", "UTC", "Asia/Tokyo")


def _chosen(session, segment: dict, at: datetime) -> set[str]:
    clause = parse_segment(segment).where(SegmentContext("offers", "email", at))
    rows = session.scalars(select(Customer.timezone).where(clause))
    return set(rows)


def test_a_moment_reaches_each_zone_of_its_countries_at_the_local_hour(session):
    for zone in ZONES:
        make_customer(session, timezone=zone)
    liberation = {"moment_today": {"moment": "liberation-day", "local_hour": 9}}
    # 25 April 2027, 07:00 UTC: 09:00 in Rome and in Berlin, but Liberation Day is Italy's
    assert _chosen(session, liberation, datetime(2027, 4, 25, 7, tzinfo=UTC)) == {"Europe/Rome"}
    assert _chosen(session, liberation, datetime(2027, 4, 25, 8, tzinfo=UTC)) == set()
    assert _chosen(session, liberation, datetime(2027, 4, 24, 7, tzinfo=UTC)) == set()

    thanksgiving = {"moment_today": {"moment": "thanksgiving-us", "local_hour": 9}}
    at = datetime(2026, 11, 26, 14, tzinfo=UTC)  # 09:00 in New York on the fourth Thursday
    assert _chosen(session, thanksgiving, at) == {"America/New_York"}
    assert _chosen(session, thanksgiving, at + timedelta(days=365)) == set()  # 2027: the 25th
    assert _chosen(session, thanksgiving, datetime(2027, 11, 25, 14, tzinfo=UTC)) == {
        "America/New_York"
    }

    easter = {"moment_today": {"moment": "easter", "local_hour": 9, "countries": ["DE"]}}
    # Easter 2027 is 28 March, the day summer time starts: 09:00 CEST is 07:00 UTC
    assert _chosen(session, easter, datetime(2027, 3, 28, 7, tzinfo=UTC)) == {"Europe/Berlin"}
    everywhere = {"moment_today": {"moment": "easter", "local_hour": 9}}
    assert _chosen(session, everywhere, datetime(2027, 3, 28, 7, tzinfo=UTC)) == {
        "Europe/Berlin",
        "Europe/Rome",
    }
    assert "UTC" not in zone_countries() and zone_countries()["Asia/Tokyo"] == "JP"


@pytest.mark.parametrize(
    "value",
    [
        {"moment": "no-such-day", "local_hour": 9},
        {"moment": "easter", "local_hour": 24},
        {"moment": "easter", "local_hour": True},
        {"moment": "liberation-day", "local_hour": 9, "countries": ["DE"]},
        {"moment": "easter", "local_hour": 9, "countries": []},
        {"moment": "easter"},
        "easter",
    ],
)
def test_bad_moment_conditions_are_refused_with_a_message(value):
    with pytest.raises(InvalidInput, match="moment_today"):
        parse_segment({"moment_today": value})


def test_the_birthday_forecast_counts_the_coming_week_of_consenting_customers(session):
    today = date(2026, 12, 5)
    for birthday, consents in (("1990-12-05", True), ("1985-12-11", True), ("1970-12-12", True),
                               ("1990-12-06", False), ("1999-06-01", True)):  # fmt: skip
        customer = make_customer(session, profile={"birthday": birthday})
        vault.set_sharing(session, customer, {("birthday", "birthday"): True})
        if consents:
            grant(session, customer, "birthday")
    not_shared = make_customer(session, profile={"birthday": "1990-12-07"})
    grant(session, not_shared, "birthday")

    forecast = birthday_forecast(session, today)
    assert [day for day, _ in forecast] == [today + timedelta(days=n) for n in range(7)]
    assert dict(forecast)[date(2026, 12, 5)] == 1
    assert dict(forecast)[date(2026, 12, 11)] == 1
    assert sum(n for _, n in forecast) == 2  # the 12th is outside, the others do not consent
    logged = session.scalars(
        select(VaultAccess).where(VaultAccess.actor == "marketing:birthday-forecast")
    ).one()
    assert logged.customer_count == 4 and logged.fields == "birthday"
