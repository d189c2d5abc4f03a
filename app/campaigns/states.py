"""The campaign state machine and the domain errors of campaigns.

::

    draft ──schedule──► scheduled ──start──► running ──finish──► completed
      ▲                  │  ▲  │               │  │ (recurring: back to scheduled)
      └──unschedule──────┘  │  └─pause─► paused ◄─pause─┘
                            └────resume─────┘   (resume returns to running if a run is open)
    draft / scheduled / running / paused ──cancel──► cancelled

``completed`` and ``cancelled`` are final. Only a draft can be edited.
"""

from __future__ import annotations

from app.errors import Conflict, InvalidInput

DRAFT, SCHEDULED, RUNNING, PAUSED, COMPLETED, CANCELLED = (
    "draft",
    "scheduled",
    "running",
    "paused",
    "completed",
    "cancelled",
)
FINAL_STATES = frozenset({COMPLETED, CANCELLED})

#: action -> {from state: to state}
TRANSITIONS: dict[str, dict[str, str]] = {
    "schedule": {DRAFT: SCHEDULED},
    "unschedule": {SCHEDULED: DRAFT},
    "start": {SCHEDULED: RUNNING, RUNNING: RUNNING},
    "finish": {RUNNING: COMPLETED},
    "await_next": {RUNNING: SCHEDULED},
    "pause": {SCHEDULED: PAUSED, RUNNING: PAUSED},
    "resume": {PAUSED: SCHEDULED},
    "resume_running": {PAUSED: RUNNING},
    "cancel": {DRAFT: CANCELLED, SCHEDULED: CANCELLED, RUNNING: CANCELLED, PAUSED: CANCELLED},
}


#: The actions a marketer takes (the others are taken by runs), in the order they are offered.
MARKETER_ACTIONS = ("schedule", "unschedule", "pause", "resume", "cancel")


class InvalidTransition(Conflict):
    """The action is not possible in the campaign's current state."""

    def __init__(self, action: str, state: str) -> None:
        self.action = action
        self.state = state
        allowed = possible_actions(state)
        if allowed:
            hint = f" Possible now: {', '.join(allowed)}."
        elif state in FINAL_STATES:
            hint = " The campaign is final."
        else:
            hint = " Wait for its run to finish."
        if action == "edit":
            hint = " Only a draft can be edited" + (
                "; unschedule it first." if "unschedule" in allowed else "." + hint
            )
        super().__init__(f"Cannot {action.replace('_', ' ')} a campaign that is {state}.{hint}")


class StaleCampaign(Conflict):
    """The campaign changed since the caller read it (optimistic ``version`` check)."""

    def __init__(self, expected: int, actual: int) -> None:
        super().__init__(
            f"The campaign was changed by someone else (version {actual}, you edited "
            f"version {expected}). Reload it and try again."
        )


class CampaignInvalid(InvalidInput):
    """The campaign cannot be scheduled; ``problems`` lists every reason."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("The campaign cannot be scheduled: " + " ".join(self.problems))


class CampaignRefused(Conflict):
    """A run was refused because the campaign's purpose may not carry campaigns (any more)."""

    def __init__(self, campaign_id: int, problem: str) -> None:
        self.problem = problem
        super().__init__(f"Campaign #{campaign_id} was not run: {problem}")


def next_state(action: str, state: str) -> str:
    """The state after ``action`` from ``state``; raises :class:`InvalidTransition`."""
    moves = TRANSITIONS.get(action)
    if moves is None:
        raise InvalidInput(f"Unknown campaign action {action!r}.")
    if state not in moves:
        raise InvalidTransition(action, state)
    return moves[state]


def can(action: str, state: str) -> bool:
    """Whether ``action`` is possible from ``state``."""
    return state in TRANSITIONS.get(action, {})


def possible_actions(state: str) -> list[str]:
    """The marketer actions possible from ``state`` (see :data:`MARKETER_ACTIONS`)."""
    return [action for action in MARKETER_ACTIONS if can(action, state)]
