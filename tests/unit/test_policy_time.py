"""Deferral rules: pause, rolling weekly caps, quiet hours and contact windows, across DST."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.policy import decide
from tests.unit.test_policy_support import AT, POLICY_SET, customer, intent, rome, window

SUNDAY = {6}


def deferral(c, i=None):
    decision = decide(POLICY_SET, c, i or intent())
    return decision.outcome, decision.rule_id, decision.defer_until


def us_customer(**changes):
    """A US customer in Rome: e-mail there has no legal quiet hours, so windows show alone."""
    return customer(jurisdiction="US", **changes)


def test_pause_defers_until_it_ends():
    until = AT + timedelta(days=3)
    assert deferral(customer(paused_until=until)) == ("defer", "pause", until)
    assert deferral(customer(paused_until=AT))[0] == "allow"


def test_rolling_week_cap_defers_until_the_oldest_counted_send_leaves():
    sends = (AT - timedelta(days=6), AT - timedelta(days=2), AT - timedelta(hours=1))
    outcome, rule, until = deferral(customer(recent_sends={"email": sends}))
    assert (outcome, rule, until) == ("defer", "frequency_cap", sends[0] + timedelta(days=7))
    old = (AT - timedelta(days=7), *sends[1:])  # exactly 7 days ago: outside the window
    assert deferral(customer(recent_sends={"email": old}))[0] == "allow"
    assert deferral(customer(recent_sends={"sms": sends}))[0] == "allow"


def test_customer_weekly_cap_is_the_stricter_one():
    sends = {"email": (AT - timedelta(days=1),)}
    outcome, rule, until = deferral(customer(weekly_cap=1, recent_sends=sends))
    assert (outcome, rule) == ("defer", "frequency_cap")
    assert until == AT + timedelta(days=6)
    assert deferral(customer(weekly_cap=0))[:2] == ("deny", "frequency_cap")


def test_transactional_messages_are_not_capped():
    sends = {"email": tuple(AT - timedelta(hours=h) for h in range(1, 6))}
    service = intent("service", template_fields={"first_name"}, transactional=True)
    assert deferral(customer(recent_sends=sends, weekly_cap=1), service)[0] == "allow"
    claimed = intent(transactional=True)  # a marketing purpose cannot claim to be transactional
    assert deferral(customer(recent_sends=sends), claimed)[:2] == ("defer", "frequency_cap")


def test_quiet_hours_wrap_midnight():
    evening = rome(2024, 5, 15, 22, 15)
    assert deferral(customer(), intent(at=evening)) == (
        "defer",
        "quiet_hours",
        rome(2024, 5, 16, 8, 0).astimezone(UTC),
    )
    small_hours = rome(2024, 5, 16, 2, 0)
    assert deferral(customer(), intent(at=small_hours))[2] == rome(2024, 5, 16, 8, 0)
    assert deferral(customer(), intent(at=rome(2024, 5, 15, 20, 59)))[0] == "allow"
    assert deferral(customer(), intent(at=rome(2024, 5, 16, 8, 0)))[0] == "allow"


def test_sunday_quiet_for_sms_then_the_night_before_monday():
    sunday_noon = rome(2024, 5, 19, 12, 0)
    outcome, rule, until = deferral(customer(), intent(channel="sms", at=sunday_noon))
    assert (outcome, rule, until) == ("defer", "quiet_hours", rome(2024, 5, 20, 8, 0))


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        # 31 March 2024: clocks go 02:00 CET -> 03:00 CEST. 08:00 CEST is 06:00 UTC.
        (datetime(2024, 3, 30, 22, 0, tzinfo=UTC), datetime(2024, 3, 31, 6, 0, tzinfo=UTC)),
        # 27 October 2024: clocks go 03:00 CEST -> 02:00 CET. 08:00 CET is 07:00 UTC.
        (datetime(2024, 10, 26, 21, 0, tzinfo=UTC), datetime(2024, 10, 27, 7, 0, tzinfo=UTC)),
        # In the repeated hour itself (02:30 CET, second time round).
        (datetime(2024, 10, 27, 1, 30, tzinfo=UTC), datetime(2024, 10, 27, 7, 0, tzinfo=UTC)),
    ],
)
def test_quiet_hours_end_at_local_eight_across_dst(at, expected):
    assert deferral(customer(), intent(at=at)) == ("defer", "quiet_hours", expected)


def test_contact_window_defers_to_the_next_opening():
    c = customer(contact_windows=(window("18:00", "20:00"),))
    assert deferral(c) == ("defer", "contact_window", rome(2024, 5, 15, 18, 0))
    friday_night = intent(at=rome(2024, 5, 17, 20, 30))
    # Friday 20:30: the next opening is Monday 18:00.
    assert deferral(c, friday_night)[2] == rome(2024, 5, 20, 18, 0)
    inside = customer(contact_windows=(window("09:00", "13:00"),))
    assert deferral(inside)[0] == "allow"


def test_contact_window_crossing_midnight_and_whole_day():
    night = us_customer(contact_windows=(window("22:00", "02:00", {2}),))  # Wednesday night
    assert deferral(night, intent(at=rome(2024, 5, 16, 1, 0)))[0] == "allow"  # Thursday 01:00
    assert deferral(night)[2] == rome(2024, 5, 15, 22, 0)
    whole_sunday = us_customer(contact_windows=(window("00:00", "00:00", SUNDAY),))
    assert deferral(whole_sunday)[2] == rome(2024, 5, 19, 0, 0)


def test_contact_window_uses_local_time_across_spring_dst():
    c = us_customer(contact_windows=(window("09:00", "10:00", SUNDAY),))
    saturday = intent(at=datetime(2024, 3, 30, 11, 0, tzinfo=UTC))
    # Sunday 09:00 CEST = 07:00 UTC (not 08:00, which naive 24-hour arithmetic would give).
    assert deferral(c, saturday)[2] == datetime(2024, 3, 31, 7, 0, tzinfo=UTC)


def test_contact_window_opening_inside_the_spring_gap():
    c = us_customer(contact_windows=(window("02:30", "05:00", SUNDAY),))
    before = intent(at=datetime(2024, 3, 31, 0, 15, tzinfo=UTC))  # 01:15 CET
    _, rule, until = deferral(c, before)
    # 02:30 does not exist that night; the window is open from the end of the gap (03:00 CEST).
    assert rule == "contact_window" and until == datetime(2024, 3, 31, 1, 0, tzinfo=UTC)
    assert deferral(c, intent(at=until))[0] == "allow"


def test_window_wholly_inside_the_spring_gap_moves_a_week_on():
    c = us_customer(contact_windows=(window("02:00", "02:45", SUNDAY),))
    _, _, until = deferral(c, intent(at=datetime(2024, 3, 30, 12, 0, tzinfo=UTC)))
    assert until == rome(2024, 4, 7, 2, 0)


def test_repeated_autumn_hour_opens_the_window_again():
    c = us_customer(contact_windows=(window("02:00", "02:30", SUNDAY),))
    first_pass_over = intent(at=datetime(2024, 10, 27, 0, 40, tzinfo=UTC))  # 02:40 CEST
    # Wall clocks read 02:00 again at 01:00 UTC (CET).
    assert deferral(c, first_pass_over)[2] == datetime(2024, 10, 27, 1, 0, tzinfo=UTC)


def test_several_deferrals_settle_on_a_moment_satisfying_all():
    sends = {"email": tuple(AT - timedelta(days=d) for d in (4, 3, 2))}
    c = customer(
        recent_sends=sends,
        paused_until=AT + timedelta(hours=1),
        contact_windows=(window("07:00", "09:00"),),
    )
    outcome, rule, until = deferral(c)
    # Pause first; then the cap frees on Saturday 12:30; windows are weekdays 07-09, and
    # quiet hours last until 08:00: Monday 08:00 in Rome.
    assert (outcome, rule) == ("defer", "pause")
    assert until == rome(2024, 5, 20, 8, 0)
    assert deferral(c, intent(at=until))[0] == "allow"


def test_no_window_ever_opening_denies():
    never = customer(contact_windows=(window("09:00", "10:00", ()),))
    assert deferral(never)[:2] == ("deny", "contact_window")
