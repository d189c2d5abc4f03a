"""Delivery settings, read from the application config with ``ASSENSO_*`` environment fallbacks.

The worker's own settings are not in ``config.py``; each is looked up here as ``app.config[NAME]``
(tests and operators may set it there) or the environment variable ``ASSENSO_<NAME>``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from flask import Flask

from app.channels.email import DkimKey
from app.channels.smtp import SmtpSettings
from config import INSTANCE_DIR, ConfigError, env

DEFAULTS: dict[str, str] = {
    "WORKER_BATCH_SIZE": "500",
    "WORKER_LEASE_SECONDS": "15",
    "WORKER_IDLE_SECONDS": "1.0",
    "WORKER_MAX_ATTEMPTS": "8",
    "WORKER_RETRY_BASE_SECONDS": "30",
    "WORKER_ASYNC_COMMIT": "true",
    "WORKER_SMTP_CONNECTIONS": "16",
    "UNSUBSCRIBE_TOKEN_DAYS": "400",
    "SMS_TIMEOUT_SECONDS": "10",
    "SMTP_TIMEOUT_SECONDS": "30",
}


def setting(app: Flask, name: str) -> str | None:
    """``app.config[name]``, else ``ASSENSO_<name>``, else the default (as text)."""
    value = app.config.get(name)
    if value is None:
        value = env(f"ASSENSO_{name}", DEFAULTS.get(name))
    return None if value is None else str(value)


def number(app: Flask, name: str, kind=int):
    """A numeric setting; a clear error names the variable when it is not a number."""
    raw = setting(app, name)
    try:
        return kind(raw)
    except (TypeError, ValueError):
        raise ConfigError(f"ASSENSO_{name} must be a number, got {raw!r}") from None


def flag(app: Flask, name: str) -> bool:
    """A boolean setting (true/false, 1/0, yes/no, on/off)."""
    return str(setting(app, name)).lower() in {"1", "true", "yes", "on"}


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


def worker_settings(app: Flask, **overrides) -> WorkerSettings:
    """The worker settings of ``app``, with explicit ``overrides`` (from the command line)."""
    values = {
        "batch_size": number(app, "WORKER_BATCH_SIZE"),
        "lease_seconds": number(app, "WORKER_LEASE_SECONDS"),
        "idle_seconds": number(app, "WORKER_IDLE_SECONDS", float),
        "max_attempts": number(app, "WORKER_MAX_ATTEMPTS"),
        "retry_base_seconds": number(app, "WORKER_RETRY_BASE_SECONDS"),
        "async_commit": flag(app, "WORKER_ASYNC_COMMIT"),
        "smtp_connections": number(app, "WORKER_SMTP_CONNECTIONS"),
    }
    values.update({key: value for key, value in overrides.items() if value is not None})
    if values["batch_size"] < 1 or values["lease_seconds"] < 5:
        raise ConfigError("worker batch size must be >= 1 and lease seconds >= 5")
    return WorkerSettings(**values)


def smtp_settings(app: Flask) -> SmtpSettings:
    """The SMTP relay settings of ``app``."""
    security = app.config.get("SMTP_SECURITY", "none")
    if security not in {"none", "starttls", "ssl"}:
        raise ConfigError(f"ASSENSO_SMTP_SECURITY must be none, starttls or ssl, got {security!r}")
    return SmtpSettings(
        host=app.config["SMTP_HOST"],
        port=int(app.config["SMTP_PORT"]),
        security=security,
        username=app.config.get("SMTP_USERNAME"),
        password=app.config.get("SMTP_PASSWORD"),
        timeout=number(app, "SMTP_TIMEOUT_SECONDS", float),
    )


def dkim_key(app: Flask) -> DkimKey | None:
    """The DKIM key when ``DKIM_SELECTOR``, ``DKIM_DOMAIN`` and ``DKIM_KEY_PATH`` are all set."""
    selector, domain, path = (
        setting(app, n) for n in ("DKIM_SELECTOR", "DKIM_DOMAIN", "DKIM_KEY_PATH")
    )
    if not (selector or domain or path):
        return None
    if not (selector and domain and path):
        raise ConfigError(
            "DKIM needs ASSENSO_DKIM_SELECTOR, ASSENSO_DKIM_DOMAIN and ASSENSO_DKIM_KEY_PATH"
        )
    try:
        return DkimKey(selector, domain, Path(path).read_bytes())
    except OSError as exc:
        raise ConfigError(f"ASSENSO_DKIM_KEY_PATH cannot be read ({exc.strerror})") from None


def mailbox_folder(app: Flask) -> Path:
    """Where the development mailbox stores messages (``DEV_MAILBOX_DIR``)."""
    return Path(setting(app, "DEV_MAILBOX_DIR") or INSTANCE_DIR / "mailbox")
