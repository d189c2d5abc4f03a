"""Channels: how a rendered message leaves the machine (SMTP e-mail, SMS webhook, dev mailbox).

Channels know nothing about consent or the outbox: the delivery worker hands them a finished
message and they either deliver it or raise :class:`TransientFailure` (try again later) or
:class:`PermanentFailure` (never retry; the address bounced).
"""

from app.channels.errors import ChannelError, PermanentFailure, TransientFailure

__all__ = ["ChannelError", "PermanentFailure", "TransientFailure"]
