"""Calendar of moments: moveable feasts by rule, the shipped data and campaign schedules."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from app.campaigns.schedule import check_schedule
from app.marketing.calendar import (
    COUNTRIES,
    KINDS,
    birthday_schedule,
    calendar_source,
    moment,
    moment_schedule,
    moments,
    upcoming,
)
from app.marketing.conditions import is_birthday, zones_at_local_hour


@pytest.mark.parametrize(
    ("year", "sunday"),
    [(2000, date(2000, 4, 23)), (2019, date(2019, 4, 21)), (2024, date(2024, 3, 31)),
     (2025, date(2025, 4, 20)), (2026, date(2026, 4, 5)), (2038, date(2038, 4, 25))],
)  # fmt: skip
def test_easter_and_what_follows_from_it(year, sunday):
    assert moment("easter").on(year) == sunday
    assert moment("good-friday").on(year) == sunday - timedelta(days=2)
    assert moment("whit-monday").on(year) == sunday + timedelta(days=50)
    assert moment("mothering-sunday").on(year) == sunday - timedelta(days=21)


def test_weekday_rules_thanksgiving_black_friday_and_sales():
    assert moment("thanksgiving-us").on(2026) == date(2026, 11, 26)
    assert moment("thanksgiving-us").on(2024) == date(2024, 11, 28)
    assert moment("black-friday").on(2026) == date(2026, 11, 27)
    assert moment("cyber-monday").on(2026) == date(2026, 11, 30)
    assert moment("easter-monday").on(2025) == date(2025, 4, 21)
    assert moment("winter-sales-fr").on(2027) == date(2027, 1, 13)
    assert moment("summer-sales-fr").on(2026) == date(2026, 6, 24)  # last Wednesday of June


def test_mothers_day_per_country():
    assert moment("mothers-day").on(2026) == date(2026, 5, 10)  # IT, DE, US: 2nd Sunday of May
    assert set(moment("mothers-day").countries) == {"IT", "DE", "US"}
    assert moment("mothers-day-es").on(2026) == date(2026, 5, 3)  # first Sunday of May
    assert moment("mothering-sunday").on(2026) == date(2026, 3, 15)  # Ireland
    assert moment("mothers-day-fr").on(2026) == date(2026, 5, 31)  # last Sunday of May...
    assert moment("mothers-day-fr").on(2012) == date(2012, 6, 3)  # ...unless it is Pentecost
    assert moment("mothers-day-fr").on(2020) == date(2020, 6, 7)


def test_the_shipped_calendar_is_well_formed_and_names_its_source():
    ids = [m.id for m in moments()]
    assert len(ids) == len(set(ids))
    for item in moments():
        assert item.kind in KINDS and set(item.countries) <= set(COUNTRIES)
        item.on(2027)  # every rule computes
    assert "Wikipedia" in calendar_source() and "L310-3" in calendar_source()


def test_upcoming_lists_moments_in_date_order_per_country():
    found = upcoming(date(2026, 12, 20), country="IE", days=20)
    assert [m.id for _, m in found] == ["christmas", "st-stephens-day", "new-year"]


def test_a_moment_schedules_hourly_runs_with_its_condition():
    settings = moment_schedule(moment("easter"), time(9, 30), countries=["IT"])
    assert settings == {
        "schedule_kind": "cron", "cron": "30 * * * *", "cron_timezone": "UTC",
        "segment": {"moment_today": {"moment": "easter", "local_hour": 9, "countries": ["IT"]}},
    }  # fmt: skip
    assert check_schedule(settings["schedule_kind"], None, None, settings["cron"],
                          settings["cron_timezone"]) == []  # fmt: skip


def test_birthdays_match_on_the_local_date_and_leap_day_on_the_28th():
    assert is_birthday("1990-11-23", date(2026, 11, 23))
    assert not is_birthday("1990-11-24", date(2026, 11, 23))
    assert is_birthday("2000-02-29", date(2027, 2, 28))
    assert not is_birthday("2000-02-29", date(2028, 2, 28))
    assert not is_birthday("garbage", date(2026, 1, 1))


def test_each_zone_reaches_the_local_hour_at_its_own_moment():
    at_nine_utc = zones_at_local_hour(datetime(2026, 11, 23, 9, tzinfo=UTC), 9)
    assert at_nine_utc["UTC"] == date(2026, 11, 23) and "Europe/Rome" not in at_nine_utc
    rome = zones_at_local_hour(datetime(2026, 11, 23, 8, tzinfo=UTC), 9)
    assert rome["Europe/Rome"] == date(2026, 11, 23)
    assert birthday_schedule()["segment"] == {"birthday_today": {"local_hour": 9}}
