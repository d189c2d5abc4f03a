"""Domain errors shared across services; the web, API and CLI layers map them once."""

from __future__ import annotations


class AssensoError(Exception):
    """Base of every domain error; its message is safe to show to the user."""

    status = 400


class NotFound(AssensoError):
    """The thing asked for does not exist (or is not visible to the caller)."""

    status = 404


class Conflict(AssensoError):
    """The request conflicts with the current state (stale form, duplicate, wrong state)."""

    status = 409


class InvalidInput(AssensoError):
    """The input is malformed; the message says what is wrong without echoing personal data."""

    status = 400
