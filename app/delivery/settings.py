"""The delivery settings of an application, as the worker and the channels use them.

Everything is read and checked once, by :mod:`app.settings`; here the typed settings are only
grouped into what a worker, the SMTP relay and DKIM signing need.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from flask import Flask

from app.channels.email import DkimKey
from app.channels.smtp import SmtpSettings
from app.settings import current_settings
from config import ConfigError


@dataclass(frozen=True, slots=True)
class WorkerSettings:
    """How a delivery worker claims and retries."""

    batch_size: int
    lease_seconds: int
    idle_seconds: float
    max_attempts: int
    retry_base_seconds: int
    async_commit: bool
    smtp_connections: int = 16


def worker_settings(
    app: Flask,
    batch_size: int | None = None,
    lease_seconds: int | None = None,
    smtp_connections: int | None = None,
) -> WorkerSettings:
    """The worker settings of ``app``; a value given here (command line, benchmark) wins."""
    settings = current_settings(app)
    configured = WorkerSettings(
        batch_size=settings.worker_batch_size,
        lease_seconds=settings.worker_lease_seconds,
        idle_seconds=settings.worker_idle_seconds,
        max_attempts=settings.worker_max_attempts,
        retry_base_seconds=settings.worker_retry_base_seconds,
        async_commit=settings.worker_async_commit,
        smtp_connections=settings.worker_smtp_connections,
    )
    return replace(
        configured,
        batch_size=batch_size or configured.batch_size,
        lease_seconds=lease_seconds or configured.lease_seconds,
        smtp_connections=smtp_connections or configured.smtp_connections,
    )


def smtp_settings(app: Flask) -> SmtpSettings:
    """The SMTP relay settings of ``app``."""
    settings = current_settings(app)
    return SmtpSettings(
        host=settings.smtp_host,
        port=settings.smtp_port,
        security=settings.smtp_security,
        username=settings.smtp_username,
        password=settings.smtp_password,
        timeout=settings.smtp_timeout_seconds,
    )


def dkim_key(app: Flask) -> DkimKey | None:
    """The DKIM key when ``ASSENSO_DKIM_*`` are set (all three or none: checked at start)."""
    settings = current_settings(app)
    if settings.dkim_key_path is None or not settings.dkim_selector or not settings.dkim_domain:
        return None
    try:
        key = settings.dkim_key_path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"ASSENSO_DKIM_KEY_PATH cannot be read ({exc.strerror})") from None
    return DkimKey(settings.dkim_selector, settings.dkim_domain, key)


def mailbox_folder(app: Flask) -> Path:
    """Where the development mailbox stores messages (``ASSENSO_DEV_MAILBOX_DIR``)."""
    return current_settings(app).dev_mailbox_dir
