"""E-mail waves without a server: what each SMTP step's failure means for the message."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from app.channels.email import OutgoingEmail
from app.channels.errors import PermanentFailure, TransientFailure
from app.delivery.dispatch import EmailDispatch, failure_outcome

NOW = datetime(2026, 12, 5, 10, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Entry:
    id: int
    customer_id: int = 1
    channel: str = "email"
    attempts: int = 1


class Sender:
    """Records the steps; raises ``error`` at step ``fails_at``."""

    def __init__(self, fails_at: str | None = None, error: Exception | None = None) -> None:
        self.fails_at, self.error, self.steps = fails_at, error, []

    def _step(self, name: str) -> None:
        self.steps.append(name)
        if name == self.fails_at:
            raise self.error

    def send_envelope(self, recipient):
        self._step("envelope")

    def send_content(self, message):
        self._step("content")

    def send_dot(self):
        self._step("dot")

    def confirm(self):
        self._step("confirm")

    def abort(self):
        self.steps.append("abort")


class Recorder:
    """Keeps every staged entry (or ``kept``) and remembers what was given back."""

    def __init__(self, kept: set[int] | None = None) -> None:
        self.kept, self.released = kept, []

    def hand_over(self, wave, message_ids, done, now):
        ids = {e.id for e in wave}
        return ids if self.kept is None else ids & self.kept

    def drop_lost(self, items):
        return items

    def release(self, entries, done, now):
        self.released += [e.id for e in entries]


def _email(n: int) -> OutgoingEmail:
    return OutgoingEmail(f"p{n}@example.org", "Hi", "Hello", None, f"<{n}@x>", "https://x/u", "m")


def _send(senders, recorder, stop=None):
    items = [(Entry(n), _email(n)) for n in range(len(senders))]
    dispatch = EmailDispatch(senders, "Shop <news@shop.example>")
    fail = lambda entry, exc: failure_outcome(entry, exc, NOW, 8, 30)  # noqa: E731
    return dispatch.send(items, recorder, fail, lambda: NOW, stop or threading.Event())


@pytest.mark.parametrize("step", ["dot", "confirm"])
def test_no_250_from_the_relay_means_retry_not_sent(step):
    lost = TransientFailure("SMTP connection lost")
    (outcome,) = _send([Sender(step, lost)], Recorder())
    assert (outcome.status, outcome.not_before is not None) == ("retry", True)


def test_a_refusal_of_the_dot_fails_for_good_and_bounces():
    (outcome,) = _send([Sender("confirm", PermanentFailure("550 no", 550))], Recorder())
    assert (outcome.status, outcome.bounced) == ("failed", True)


def test_a_message_not_kept_at_hand_over_is_dropped_without_its_dot():
    senders = [Sender(), Sender()]
    outcomes = _send(senders, Recorder(kept={1}))
    assert [o.entry.id for o in outcomes] == [1]
    assert senders[0].steps == ["envelope", "content", "abort"]
    assert senders[1].steps == ["envelope", "content", "dot", "confirm"]


def test_a_stopping_worker_hands_nothing_over_and_gives_everything_back():
    stop = threading.Event()
    stop.set()
    senders = [Sender(), Sender()]
    recorder = Recorder()
    assert _send(senders, recorder, stop) == []
    assert recorder.released == [0, 1]
    assert senders[0].steps == senders[1].steps == []
