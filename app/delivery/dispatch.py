"""Sending a claimed batch in waves, with the hand-over marker between content and commit.

E-mail: each wave stages up to ``len(senders)`` messages (one SMTP connection each: envelope
and content, no final dot; all envelopes of the wave are sent before any reply is read), then
one database commit re-checks the wave and marks it handed over (Message-ID set), then the dots
are sent. SMS: one message per wave (marker, then the webhook POST).

No 250, not sent: a message counts as sent only when the relay answered 250 to its final dot.
A connection lost before that answer (the relay cut it inside DATA, or the dot could not be
written) is a transient failure, retried later with the same Message-ID.

A staged message that may not be sent (its lease was lost, or its customer withdrew) is
abandoned by closing its connection: inside DATA a ``QUIT`` would only be more content. A
stopping worker (``stop`` set) hands nothing more over and gives its unsent entries back.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from app.channels.email import build_message
from app.channels.errors import ChannelError, PermanentFailure
from app.channels.smtp import SmtpSender
from app.delivery.recorder import Outcome, Recorder

MAX_BACKOFF = timedelta(hours=6)


def failure_outcome(
    entry, error: ChannelError, now: datetime, max_attempts: int, base_seconds: int
) -> Outcome:
    """Retry with exponential backoff, or fail for good (5xx bounces are suppressed)."""
    if isinstance(error, PermanentFailure):
        return Outcome(entry, "failed", str(error), bounced=error.code is not None)
    if entry.attempts >= max_attempts:
        return Outcome(entry, "failed", f"gave up after {entry.attempts} attempts: {error}")
    delay = min(timedelta(seconds=base_seconds * 2 ** max(entry.attempts - 1, 0)), MAX_BACKOFF)
    return Outcome(entry, "retry", str(error), not_before=now + delay)


class EmailDispatch:
    """Waves of staged e-mails over a pool of SMTP connections."""

    def __init__(self, senders: Sequence[SmtpSender], mail_from: str, dkim_key=None) -> None:
        """Send through ``senders`` (the wave size is their number) as ``mail_from``."""
        self.senders = list(senders)
        self.mail_from = mail_from
        self.dkim_key = dkim_key

    def send(
        self,
        items: Sequence,
        recorder: Recorder,
        fail: Callable,
        clock: Callable[[], datetime],
        stop: threading.Event,
    ) -> list[Outcome]:
        """Send ``items`` of (entry, OutgoingEmail); returns the outcomes not yet recorded."""
        done: list[Outcome] = []
        waiting = list(items)
        while waiting:
            if stop.is_set():
                recorder.release([entry for entry, _ in waiting], done, clock())
                return []
            wave, waiting = waiting[: len(self.senders)], waiting[len(self.senders) :]
            staged = self._stage(wave, done, fail)
            if stop.is_set():  # before the hand-over: nothing of this wave is delivered
                for sender, _entry, _email in staged:
                    sender.abort()
                recorder.release([e for _, e, _ in staged] + [e for e, _ in waiting], done, clock())
                return []
            ids = {entry.id: email.message_id for _, entry, email in staged}
            kept = recorder.hand_over([e for _, e, _ in staged], ids, done, clock())
            done = self._commit_wave(staged, kept, fail)
            waiting = recorder.drop_lost(waiting)
        return done

    def _stage(self, wave: Sequence, done: list[Outcome], fail: Callable) -> list:
        """Every envelope of the wave first, then each reply and content: the servers work on
        all connections at once instead of one round trip after another."""
        opened = []
        for sender, (entry, email) in zip(self.senders, wave, strict=False):
            try:
                sender.send_envelope(email.recipient)
                opened.append((sender, entry, email))
            except ChannelError as exc:
                done.append(fail(entry, exc))
        staged = []
        for sender, entry, email in opened:
            try:
                sender.send_content(build_message(email, self.mail_from, self.dkim_key))
                staged.append((sender, entry, email))
            except ChannelError as exc:
                done.append(fail(entry, exc))
        return staged

    @staticmethod
    def _commit_wave(staged: list, kept: set[int], fail: Callable) -> list[Outcome]:
        """All dots first (the hand-over is committed), then every reply."""
        dotted, done = [], []
        for sender, entry, _email in staged:
            if entry.id not in kept:
                sender.abort()  # the server discards the unfinished message
                continue
            try:
                sender.send_dot()
                dotted.append((sender, entry))
            except ChannelError as exc:  # no 250, not sent
                done.append(fail(entry, exc))
        for sender, entry in dotted:
            done.append(EmailDispatch._confirm(sender, entry, fail))
        return done

    @staticmethod
    def _confirm(sender: SmtpSender, entry, fail: Callable) -> Outcome:
        """Sent on the relay's 250; any other answer, or none, is a failure to act on."""
        try:
            sender.confirm()
        except ChannelError as exc:
            return fail(entry, exc)
        return Outcome(entry, "sent")

    def close(self) -> None:
        """Close every SMTP connection."""
        for sender in self.senders:
            sender.close()


class SmsDispatch:
    """One message per wave: hand-over marker, then the webhook POST."""

    def __init__(self, gateway) -> None:
        """Send through ``gateway`` (an :class:`~app.channels.sms.SmsGateway`)."""
        self.gateway = gateway

    def send(
        self,
        items: Sequence,
        recorder: Recorder,
        fail: Callable,
        clock: Callable[[], datetime],
        stop: threading.Event,
    ) -> list[Outcome]:
        """Send ``items`` of (entry, OutgoingSms); returns the outcomes not yet recorded."""
        done: list[Outcome] = []
        waiting = list(items)
        while waiting:
            if stop.is_set():
                recorder.release([entry for entry, _ in waiting], done, clock())
                return []
            (entry, sms), waiting = waiting[0], waiting[1:]
            kept = recorder.hand_over([entry], {entry.id: sms.message_id}, done, clock())
            done = []
            if entry.id in kept:
                try:
                    self.gateway.send(sms)
                    done.append(Outcome(entry, "sent"))
                except ChannelError as exc:
                    done.append(fail(entry, exc))
            waiting = recorder.drop_lost(waiting)
        return done

    def close(self) -> None:
        """Nothing to close: every POST is its own request."""
