"""Delivery failures, split by what the worker must do next. Messages never carry addresses."""

from __future__ import annotations


class ChannelError(Exception):
    """A message could not be delivered; ``code`` is the SMTP or HTTP status when known."""

    retry = False

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


class TransientFailure(ChannelError):
    """Worth retrying later with backoff (4xx SMTP, timeouts, HTTP 5xx/429, lost connection)."""

    retry = True


class PermanentFailure(ChannelError):
    """Never retry (5xx SMTP, HTTP 4xx): the address is suppressed as bounced."""
