"""Background services of the all-in-one process (mailbox, scheduler, worker).

Domains register a ``start(app) -> stop`` callable; ``flask serve`` starts them all in
registration order and stops them in reverse order.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from flask import Flask

log = logging.getLogger("assenso.background")

Stop = Callable[[], None]
Start = Callable[[Flask], Stop]

_SERVICES: list[tuple[str, Start]] = []


def register(name: str, start: Start) -> None:
    """Register a background service under ``name`` (idempotent)."""
    if all(existing != name for existing, _ in _SERVICES):
        _SERVICES.append((name, start))


def start_all(app: Flask) -> list[tuple[str, Stop]]:
    """Start every registered service; returns their stop functions."""
    started = []
    for name, start in _SERVICES:
        started.append((name, start(app)))
        log.info("started %s", name)
    return started


def stop_all(started: list[tuple[str, Stop]]) -> None:
    """Stop services in reverse order, logging (not raising) failures."""
    for name, stop in reversed(started):
        try:
            stop()
        except Exception:
            log.exception("stopping %s failed", name)
