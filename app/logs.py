"""Structured logs: one line per event, each with a request or job id, no personal data.

Every process logs through the standard library's ``logging``; one handler on the root logger
renders each record with structlog, as a JSON object (``ASSENSO_LOG_FORMAT=json``, production's
default) or a readable line (``console``). Each line carries ``request_id`` (a web request),
or ``job_id`` (a scheduler job, a delivery batch); a line outside both names the process
itself as its job (``process:<host>:<pid>``). E-mail addresses are masked in every line,
exceptions included, and libraries that log recipients at INFO (the development mailbox's SMTP
server) are held to warnings.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import re
import socket
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO

import structlog
from structlog.contextvars import bind_contextvars, bound_contextvars, clear_contextvars
from structlog.typing import EventDict, Processor

REQUEST_ID = "request_id"
JOB_ID = "job_id"
#: Loggers kept to warnings: libraries that write personal data (the mailbox's recipients and
#: peers) or request lines with tokens in their paths at INFO, Alembic's set-up chatter, and
#: APScheduler's two lines per run of every periodic job (missed runs are warnings, kept).
QUIET_LOGGERS = ("mail.log", "werkzeug", "alembic", "apscheduler.executors")
#: What an e-mail address looks like in free text (exception messages, library lines).
_ADDRESS = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)+")
MASK = "[e-mail]"


class _StandardError(logging.StreamHandler):
    """A handler that writes to whatever ``sys.stderr`` is at the time of each record."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        pass


def process_job_id() -> str:
    """The id of the process's own run, for lines outside any request or job."""
    return f"process:{socket.gethostname()}:{os.getpid()}"


def add_job_of_process(_logger: Any, _name: str, event: EventDict) -> EventDict:
    """Give a line that has neither a request nor a job id the process's own."""
    if REQUEST_ID not in event and JOB_ID not in event:
        event[JOB_ID] = process_job_id()
    return event


def mask_addresses(_logger: Any, _name: str, event: EventDict) -> EventDict:
    """Mask every e-mail address in the line's texts (message, exception, values)."""
    for key, value in event.items():
        if isinstance(value, str) and "@" in value:
            event[key] = _ADDRESS.sub(MASK, value)
    return event


def _shared() -> list[Processor]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.stdlib.ExtraAdder(),
        _drop_copy_of_message,
    ]


def _drop_copy_of_message(_logger: Any, _name: str, event: EventDict) -> EventDict:
    """The formatted message is the event already; ``logging`` also keeps it as ``message``."""
    event.pop("message", None)
    return event


def formatter(log_format: str) -> structlog.stdlib.ProcessorFormatter:
    """The formatter rendering each record as ``log_format`` (``json`` or ``console``)."""
    renderer: Processor
    if log_format == "json":
        renderer = structlog.processors.JSONRenderer()
    else:
        renderer = structlog.dev.ConsoleRenderer(colors=False, sort_keys=False)
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=_shared(),
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            add_job_of_process,
            structlog.processors.format_exc_info,
            mask_addresses,
            renderer,
        ],
    )


def handler(log_format: str) -> logging.Handler:
    """A handler writing each record to standard error, rendered as ``log_format``."""
    found = _StandardError()
    found.setFormatter(formatter(log_format))
    return found


def configured() -> bool:
    """Whether this process's root logger renders through :func:`handler`."""
    return any(isinstance(found, _StandardError) for found in logging.getLogger().handlers)


class _Held(logging.handlers.MemoryHandler):
    """Records logged before the format is known (while the settings are read)."""

    def __init__(self) -> None:
        super().__init__(capacity=1000, flushLevel=logging.CRITICAL + 1, flushOnClose=False)


def hold(level: int = logging.INFO) -> None:
    """Keep this process's records until :func:`configure` renders them (call before the
    settings are read: a warning about them waits for the format they choose). A process
    that renders already keeps rendering as it did."""
    root = logging.getLogger()
    if not any(isinstance(found, (_Held, _StandardError)) for found in root.handlers):
        root.addHandler(_Held())
        root.setLevel(level)


def configure(log_format: str, level: int = logging.INFO) -> None:
    """Send every record of this process through one handler rendering ``log_format``.

    Records kept by :func:`hold` are written first. Called by ``create_app``; calling it
    again replaces the handler, so an application created twice logs each line once.
    """
    root = logging.getLogger()
    for existing in list(root.handlers):
        if isinstance(existing, _StandardError):
            root.removeHandler(existing)
    rendering = handler(log_format)
    for held in [found for found in root.handlers if isinstance(found, _Held)]:
        held.setTarget(rendering)
        held.flush()
        root.removeHandler(held)
        held.close()
    root.addHandler(rendering)
    root.setLevel(level)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    structlog.configure(
        processors=[*_shared(), structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )


def new_id() -> str:
    """A fresh random id for a request or a job."""
    return uuid.uuid4().hex


def start_request(request_id: str | None = None) -> str:
    """Begin a request's log context: its id on every line until :func:`end_request`."""
    clear_contextvars()
    request_id = request_id or new_id()
    bind_contextvars(**{REQUEST_ID: request_id})
    return request_id


def end_request() -> None:
    """End the request's log context (the thread may serve another request next)."""
    clear_contextvars()


@contextmanager
def job(name: str, job_id: str | None = None) -> Iterator[str]:
    """Log every line inside the block with ``job_id`` (``<name>:<random>`` by default)."""
    job_id = job_id or f"{name}:{new_id()[:12]}"
    with bound_contextvars(**{JOB_ID: job_id}):
        yield job_id


def gunicorn_config(log_format: str) -> dict[str, Any]:
    """gunicorn's ``logconfig_dict``: its own lines through the same handler and format
    (its access log stays off: request lines carry tokens in their paths)."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "handlers": {"assenso": {"()": f"{__name__}.handler", "log_format": log_format}},
        "root": {"level": "INFO", "handlers": ["assenso"]},
        "loggers": {
            "gunicorn.error": {"level": "INFO", "handlers": [], "propagate": True},
            "gunicorn.access": {"level": "WARNING", "handlers": [], "propagate": True},
        },
    }
