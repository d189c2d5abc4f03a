"""Configuration helpers that need nothing of the application.

The settings themselves are declared, read and checked in :mod:`app.settings` (one typed object
per application). Here live what they rely on: the error every bad setting raises, the
repository's folder, a setting given as a file (``NAME_FILE``), the development secrets file
and the embedded key store's location.
"""

from __future__ import annotations

import base64
import json
import logging
import secrets
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

BASE_DIR = Path(__file__).resolve().parent

log = logging.getLogger("assenso.config")

#: Secrets the application needs; each maps to an environment variable of the same name.
SECRET_SETTINGS = (
    "ASSENSO_SECRET_KEY",
    "ASSENSO_VAULT_KEYS",
    "ASSENSO_BLIND_INDEX_KEYS",
    "ASSENSO_LEDGER_SIGNING_KEY",
)


class ConfigError(RuntimeError):
    """Raised when configuration is missing or malformed; the message names the variable."""


def env_file(name: str, path: str) -> str:
    """The content of the file ``path`` given as ``name_FILE``; a clear error when unusable."""
    try:
        content = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        reason = exc.strerror or exc.__class__.__name__
        raise ConfigError(f"{name}_FILE: {path} cannot be read ({reason})") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{name}_FILE: {path} is not UTF-8 text") from None
    if not content.strip():
        raise ConfigError(f"{name}_FILE: {path} is empty")
    return content


def embedded_keystore_url(database_url: str, instance_dir: Path) -> str:
    """The key store of ``database_url`` when ``ASSENSO_KEYSTORE_URL`` is not set.

    Beside a SQLite database file ``<name>.<suffix>`` it is ``<name>.keystore.sqlite3``, so a
    new database file comes with a new key store. An in-memory database gets an in-memory key
    store, any other database a file under ``instance/`` named after it. A database created
    before key stores were named after their database keeps ``instance/keystore.sqlite3``.
    """
    try:
        url = make_url(database_url)
    except ArgumentError:
        raise ConfigError(f"DATABASE_URL is not a database URL: {database_url!r}") from None
    if url.get_backend_name() != "sqlite":
        name = url.database or "assenso"
        return f"sqlite:///{instance_dir / f'{name}.keystore.sqlite3'}"
    if not url.database or url.database == ":memory:":
        return "sqlite://"
    database = Path(url.database)
    keystore = database.with_name(f"{database.stem}.keystore.sqlite3")
    legacy = instance_dir / "keystore.sqlite3"
    if database == instance_dir / "assenso.sqlite3" and not keystore.exists() and legacy.exists():
        return f"sqlite:///{legacy}"
    return f"sqlite:///{keystore}"


def _new_key_ring() -> str:
    """A fresh single-version key ring in the ``version:base64`` format."""
    return "1:" + base64.b64encode(secrets.token_bytes(32)).decode()


def generate_secrets() -> dict[str, str]:
    """Fresh random values for every secret setting (development and tests only)."""
    return {
        "ASSENSO_SECRET_KEY": secrets.token_urlsafe(48),
        "ASSENSO_VAULT_KEYS": _new_key_ring(),
        "ASSENSO_BLIND_INDEX_KEYS": _new_key_ring(),
        "ASSENSO_LEDGER_SIGNING_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
    }


def load_development_secrets(instance_dir: Path) -> dict[str, str]:
    """Read development secrets from ``instance/secrets.json``, creating it once if absent."""
    path = instance_dir / "secrets.json"
    stored: dict[str, str] = {}
    if path.exists():
        try:
            stored = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise ConfigError(
                f"{path} is unreadable ({exc.__class__.__name__}); fix or remove it"
            ) from None
    missing = [name for name in SECRET_SETTINGS if name not in stored]
    if missing:
        fresh = generate_secrets()
        stored.update({name: fresh[name] for name in missing})
        instance_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(stored, indent=2))
        path.chmod(0o600)
        log.warning(
            "DEVELOPMENT ONLY: generated %s into %s. Never use these keys in production.",
            ", ".join(missing),
            path,
        )
    return stored
