"""Calendar of moments: Easter, nth weekdays, the shipped data and campaign schedules."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest

from app.campaigns.schedule import check_schedule
from app.marketing.calendar import (
    COUNTRIES,
    KINDS,
    birthday_schedule,
    calendar_source,
    easter,
    moment,
    moments,
    nth_weekday,
    schedule_for,
    upcoming,
)
from app.marketing.conditions import is_birthday, zones_at_local_hour


@pytest.mark.parametrize(
    ("year", "sunday"),
    [(2000, date(2000, 4, 23)), (2019, date(2019, 4, 21)), (2024, date(2024, 3, 31)),
     (2025, date(2025, 4, 20)), (2026, date(2026, 4, 5)), (2038, date(2038, 4, 25))],
)  # fmt: skip
def test_easter_sunday(year, sunday):
    assert easter(year) == sunday


def test_nth_and_last_weekdays():
    assert nth_weekday(2026, 11, 3, 4) == date(2026, 11, 26)  # Thanksgiving
    assert nth_weekday(2026, 6, 2, -1) == date(2026, 6, 24)  # last Wednesday of June
    assert nth_weekday(2026, 12, 0, -1) == date(2026, 12, 28)


def test_black_friday_follows_thanksgiving_and_easter_monday_easter():
    assert moment("black-friday").on(2026) == date(2026, 11, 27)
    assert moment("cyber-monday").on(2026) == date(2026, 11, 30)
    assert moment("easter-monday").on(2025) == date(2025, 4, 21)
    assert moment("winter-sales-fr").on(2027) == date(2027, 1, 13)


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


def test_fixed_moments_become_valid_yearly_cron_schedules():
    settings = schedule_for(moment("christmas"), time(9, 30), "Europe/Rome", date(2026, 1, 1))
    assert settings == {"schedule_kind": "cron", "cron": "30 9 25 12 *",
                        "cron_timezone": "Europe/Rome"}  # fmt: skip
    assert check_schedule(settings["schedule_kind"], None, None, settings["cron"],
                          settings["cron_timezone"]) == []  # fmt: skip


def test_moveable_moments_become_the_next_one_off_schedule():
    settings = schedule_for(moment("easter"), time(10), "Europe/Berlin", date(2026, 5, 1))
    assert settings["schedule_kind"] == "at"
    assert settings["scheduled_at"] == datetime(2027, 3, 28, 8, tzinfo=UTC)


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
