"""Sending a claimed batch in waves, with the hand-over marker between content and commit.

E-mail: each wave stages up to ``len(senders)`` messages (one SMTP connection each: envelope
and content, no final dot; all envelopes of the wave are sent before any reply is read), then
one database commit marks them handed over (Message-ID set), then the dots are sent.
SMS: one message per wave (marker, then the webhook POST).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from app.channels.email import SmtpSender, build_message
from app.channels.errors import ChannelError, PermanentFailure
from app.delivery.recording import Outcome, Recorder

MAX_BACKOFF = timedelta(hours=6)
UNCERTAIN_NOTE = "connection lost after the message was handed over; recorded as delivered"


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
        self, items: Sequence, recorder: Recorder, fail: Callable, clock: Callable[[], datetime]
    ) -> list[Outcome]:
        """Send ``items`` of (entry, OutgoingEmail); returns the outcomes not yet recorded."""
        done: list[Outcome] = []
        size = len(self.senders)
        for start in range(0, len(items), size):
            # Every envelope of the wave first, then each reply and content: the servers work
            # on all connections at once instead of one round trip after another.
            opened = []
            for sender, (entry, email) in zip(
                self.senders, items[start : start + size], strict=False
            ):
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
            ids = {entry.id: email.message_id for _, entry, email in staged}
            kept = recorder.hand_over([e for _, e, _ in staged], ids, done, clock())
            done = self._commit_wave(staged, kept, fail)
        return [o for o in done if o is not None]

    @staticmethod
    def _commit_wave(staged: list, kept: set[int], fail: Callable) -> list[Outcome]:
        """All dots first (the hand-over is committed), then every reply."""
        dotted, done = [], []
        for sender, entry, _email in staged:
            if entry.id not in kept:
                sender.abort()  # lease lost: the server discards the unfinished message
                continue
            try:
                sender.send_dot()
                dotted.append((sender, entry))
            except ChannelError:  # the dot may have left: never send twice
                done.append(Outcome(entry, "sent", UNCERTAIN_NOTE))
        for sender, entry in dotted:
            done.append(EmailDispatch._confirm(sender, entry, fail))
        return done

    @staticmethod
    def _confirm(sender: SmtpSender, entry, fail: Callable) -> Outcome:
        try:
            sender.confirm()
        except PermanentFailure as exc:
            return fail(entry, exc)
        except ChannelError as exc:
            if exc.code is None:  # no reply: the server may have the message; never send twice
                return Outcome(entry, "sent", UNCERTAIN_NOTE)
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
        self, items: Sequence, recorder: Recorder, fail: Callable, clock: Callable[[], datetime]
    ) -> list[Outcome]:
        """Send ``items`` of (entry, OutgoingSms); returns the outcomes not yet recorded."""
        done: list[Outcome] = []
        for entry, sms in items:
            kept = recorder.hand_over([entry], {entry.id: sms.message_id}, done, clock())
            done = []
            if entry.id not in kept:
                continue
            try:
                self.gateway.send(sms)
                done.append(Outcome(entry, "sent"))
            except ChannelError as exc:
                done.append(fail(entry, exc))
        return done

    def close(self) -> None:
        """Nothing to close: every POST is its own request."""
