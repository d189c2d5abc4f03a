"""The campaign state machine."""

from __future__ import annotations

import pytest

from app.campaigns import states
from app.errors import Conflict, InvalidInput

ALL = ("draft", "scheduled", "running", "paused", "completed", "cancelled")


@pytest.mark.parametrize(
    ("action", "before", "after"),
    [
        ("schedule", "draft", "scheduled"),
        ("unschedule", "scheduled", "draft"),
        ("start", "scheduled", "running"),
        ("pause", "running", "paused"),
        ("pause", "scheduled", "paused"),
        ("resume", "paused", "scheduled"),
        ("resume_running", "paused", "running"),
        ("finish", "running", "completed"),
        ("await_next", "running", "scheduled"),
        ("cancel", "paused", "cancelled"),
    ],
)
def test_allowed_transitions(action, before, after):
    assert states.next_state(action, before) == after


@pytest.mark.parametrize("action", sorted(states.TRANSITIONS))
@pytest.mark.parametrize("final", ["completed", "cancelled"])
def test_final_states_allow_nothing(action, final):
    with pytest.raises(states.InvalidTransition, match="final"):
        states.next_state(action, final)


def test_invalid_transition_is_a_conflict_with_a_clear_message():
    with pytest.raises(Conflict) as info:
        states.next_state("resume", "draft")
    assert str(info.value).startswith("Cannot resume a campaign that is draft.")
    assert "schedule" in str(info.value)


def test_unknown_action_is_invalid_input():
    with pytest.raises(InvalidInput):
        states.next_state("explode", "draft")


def test_every_transition_targets_a_known_state():
    for moves in states.TRANSITIONS.values():
        assert set(moves) <= set(ALL) and set(moves.values()) <= set(ALL)
