"""Schedule validation and per-recipient local send times."""

from __future__ import annotations

from datetime import UTC, datetime, time

from app.campaigns.schedule import check_schedule, next_local_time

NOON = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def test_complete_schedules_have_no_problems():
    assert check_schedule("now", None, None, None, None) == []
    assert check_schedule("at", NOON, None, None, None) == []
    assert check_schedule("local_time", None, "09:30", None, None) == []
    assert check_schedule("cron", None, None, "0 9 24 11 *", "Europe/Rome") == []


def test_incomplete_or_invalid_schedules_are_named():
    assert "needs a date" in check_schedule("at", None, None, None, None)[0]
    assert "HH:MM" in check_schedule("local_time", None, "9.30", None, None)[0]
    assert "cron" in check_schedule("cron", None, None, None, None)[0]
    assert "not valid" in check_schedule("cron", None, None, "61 * * * *", None)[0]
    assert "time zone" in check_schedule("cron", None, None, "0 9 * * *", "Mars/Base")[0]
    assert check_schedule("weekly", None, None, None, None)
    assert "time zone" in check_schedule("at", datetime(2026, 1, 1), None, None, None)[0]


def test_local_time_is_the_next_occurrence_in_the_recipients_zone():
    rome = next_local_time(time(9, 0), "Europe/Rome", NOON)  # 14:00 in Rome: tomorrow
    assert rome == datetime(2026, 6, 2, 7, 0, tzinfo=UTC)
    la = next_local_time(time(9, 0), "America/Los_Angeles", NOON)  # 05:00 there: today
    assert la == datetime(2026, 6, 1, 16, 0, tzinfo=UTC)


def test_unknown_zone_falls_back_to_utc_and_dst_gap_moves_forward():
    assert next_local_time(time(13, 0), "Nowhere/Zone", NOON) == datetime(
        2026, 6, 1, 13, tzinfo=UTC
    )
    before_gap = datetime(2026, 3, 28, 12, 0, tzinfo=UTC)
    gap = next_local_time(time(2, 30), "Europe/Rome", before_gap)
    assert gap == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)  # 03:30 CEST
