"""Configuration for Assenso.

Every setting is read from an environment variable with the ``ASSENSO_`` prefix (plus the
conventional ``DATABASE_URL``), or from the file its ``…_FILE`` variable names. Three
classes cover the three ways the app runs:

* ``DevelopmentConfig`` — the embedded default: SQLite under ``instance/`` with its key store
  beside it; missing secrets are generated once into ``instance/secrets.json`` with a visible
  warning.
* ``TestingConfig`` — used by the test suite; database from ``TEST_DATABASE_URL`` or a
  temporary SQLite file; fresh throw-away keys.
* ``ProductionConfig`` — refuses to start, naming the variable, unless every secret is given.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import secrets
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = Path(os.environ.get("ASSENSO_INSTANCE_PATH", BASE_DIR / "instance"))

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


def env(name: str, default: str | None = None) -> str | None:
    """Return the setting ``name`` stripped, or ``default`` when unset or blank.

    The value comes from the environment variable ``name`` or from the file that
    ``name_FILE`` names (:func:`env_file`), as container secrets are given; not both.
    """
    value = os.environ.get(name)
    path = os.environ.get(f"{name}_FILE")
    if path is not None and path.strip():
        if value is not None and value.strip():
            raise ConfigError(f"{name} and {name}_FILE are both set: set only one of them")
        value = env_file(name, path.strip())
    if value is None or not value.strip():
        return default
    return value.strip()


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


def env_int(name: str, default: int) -> int:
    """Return an integer setting, with a clear error naming the variable when it is not one."""
    raw = env(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None


def env_count(name: str, default: int, minimum: int = 1) -> int:
    """Return a whole-number setting of at least ``minimum``, naming the variable otherwise."""
    value = env_int(name, default)
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {value}")
    return value


def env_bool(name: str, default: bool) -> bool:
    """Return a boolean setting (1/0, true/false, yes/no, on/off)."""
    raw = env(name)
    if raw is None:
        return default
    lowered = raw.lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name} must be true or false, got {raw!r}")


def embedded_keystore_url(database_url: str) -> str:
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
        return f"sqlite:///{INSTANCE_DIR / f'{name}.keystore.sqlite3'}"
    if not url.database or url.database == ":memory:":
        return "sqlite://"
    database = Path(url.database)
    keystore = database.with_name(f"{database.stem}.keystore.sqlite3")
    legacy = INSTANCE_DIR / "keystore.sqlite3"
    if database == INSTANCE_DIR / "assenso.sqlite3" and not keystore.exists() and legacy.exists():
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


def load_development_secrets(instance_dir: Path = INSTANCE_DIR) -> dict[str, str]:
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


class BaseConfig:
    """Settings shared by every environment."""

    ENV_NAME = "base"
    TESTING = False
    DEBUG = False

    SQLALCHEMY_ENGINE_OPTIONS: dict = {}
    SQLALCHEMY_TRACK_MODIFICATIONS = False

    # Sessions and cookies: never readable by scripts, never sent cross-site.
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_NAME = "assenso_session"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    # Flask-Login's "strong" protection hashes the client's address, which a forged
    # X-Forwarded-For sets at will; every session is checked server-side instead
    # (app/web/auth_session.py).
    SESSION_PROTECTION = None
    MAX_CONTENT_LENGTH = 2 * 1024 * 1024

    #: Demo data and accounts with the demo's published passwords (never in production).
    DEMO_ALLOWED = True

    WTF_CSRF_TIME_LIMIT = 60 * 60 * 4
    BABEL_DEFAULT_LOCALE = "en"
    LANGUAGES = ("en", "it")

    def __init__(self) -> None:
        """Read the environment once, when the configuration object is created."""
        self.SQLALCHEMY_DATABASE_URI = self.database_url()
        self.SQLALCHEMY_BINDS = {"keystore": self.keystore_url()}
        self.POLICY_DIR = env("ASSENSO_POLICY_DIR", str(BASE_DIR / "policies"))
        self.DEFAULT_JURISDICTION = env("ASSENSO_DEFAULT_JURISDICTION", "EU")
        self.read_security_settings()
        self.PUBLIC_BASE_URL = env("ASSENSO_PUBLIC_BASE_URL", "http://127.0.0.1:5000")
        self.LEDGER_ORIGIN = env("ASSENSO_LEDGER_ORIGIN", "assenso.local/consent-ledger")
        self.SMTP_HOST = env("ASSENSO_SMTP_HOST", "127.0.0.1")
        self.SMTP_PORT = env_int("ASSENSO_SMTP_PORT", 8025)
        self.SMTP_SECURITY = env("ASSENSO_SMTP_SECURITY", "none")  # none | starttls | ssl
        self.SMTP_USERNAME = env("ASSENSO_SMTP_USERNAME")
        self.SMTP_PASSWORD = env("ASSENSO_SMTP_PASSWORD")
        self.MAIL_FROM = env("ASSENSO_MAIL_FROM", "Assenso <no-reply@example.com>")
        self.SMS_WEBHOOK_URL = env("ASSENSO_SMS_WEBHOOK_URL")
        self.DEV_MAILBOX = env_bool("ASSENSO_DEV_MAILBOX", self.ENV_NAME == "development")
        self.load_secrets()

    def read_security_settings(self) -> None:
        """Sessions, throttling and the proxies whose forwarded headers are believed."""
        self.TRUSTED_PROXY_HOPS = env_count("ASSENSO_TRUSTED_PROXY_HOPS", 0, minimum=0)
        self.SESSION_IDLE_MINUTES = {
            "staff": env_count("ASSENSO_STAFF_SESSION_IDLE_MINUTES", 30),
            "customer": env_count("ASSENSO_CUSTOMER_SESSION_IDLE_MINUTES", 30),
        }
        self.SESSION_HOURS = {
            "staff": env_count("ASSENSO_STAFF_SESSION_HOURS", 8),
            "customer": env_count("ASSENSO_CUSTOMER_SESSION_HOURS", 12),
        }
        for kind, idle in self.SESSION_IDLE_MINUTES.items():
            if idle > self.SESSION_HOURS[kind] * 60:
                raise ConfigError(
                    f"ASSENSO_{kind.upper()}_SESSION_IDLE_MINUTES ({idle}) is longer than "
                    f"ASSENSO_{kind.upper()}_SESSION_HOURS ({self.SESSION_HOURS[kind]} h)"
                )
        self.RATELIMIT_STORAGE_URI = env("ASSENSO_RATELIMIT_STORAGE_URI", "memory://")
        self.RATELIMIT_STORAGE_OPTIONS = {
            "key_prefix": env("ASSENSO_RATELIMIT_KEY_PREFIX", "assenso"),
            "wrap_exceptions": True,
        }
        self.LOGIN_RATE_LIMIT = env("ASSENSO_LOGIN_RATE_LIMIT", "10 per minute")
        self.ACCOUNT_RATE_LIMIT = env("ASSENSO_ACCOUNT_RATE_LIMIT", "10 per 15 minutes")
        self.PORTAL_SIGNUP_RATE_LIMIT = env("ASSENSO_SIGNUP_RATE_LIMIT", "5 per minute")
        self.ACCOUNT_MAIL_RATE_LIMIT = env("ASSENSO_ACCOUNT_MAIL_RATE_LIMIT", "3 per hour")

    def database_url(self) -> str:
        """The SQLAlchemy URL: ``DATABASE_URL`` or the embedded SQLite file."""
        return env("DATABASE_URL") or f"sqlite:///{INSTANCE_DIR / 'assenso.sqlite3'}"

    def keystore_url(self) -> str:
        """Where wrapped data keys live: a database apart from the main one (and its backups)."""
        return env("ASSENSO_KEYSTORE_URL") or embedded_keystore_url(self.SQLALCHEMY_DATABASE_URI)

    def load_secrets(self) -> None:
        """Populate the secret settings from the environment (overridden per environment)."""
        for name in SECRET_SETTINGS:
            setattr(self, name.removeprefix("ASSENSO_"), env(name))
        self.SECRET_KEY = getattr(self, "SECRET_KEY", None)


class DevelopmentConfig(BaseConfig):
    """The embedded default: one process, SQLite, generated development secrets."""

    ENV_NAME = "development"
    DEBUG = False  # the Werkzeug debugger would leak internals; errors use our own pages

    def load_secrets(self) -> None:
        """Environment first, then ``instance/secrets.json`` (generated once, with a warning)."""
        stored = load_development_secrets()
        for name in SECRET_SETTINGS:
            setattr(self, name.removeprefix("ASSENSO_"), env(name) or stored[name])


class TestingConfig(BaseConfig):
    """The test suite's configuration: throw-away keys, CSRF and rate limits on by default."""

    ENV_NAME = "testing"
    TESTING = True
    DEV_MAILBOX = False

    def database_url(self) -> str:
        """``TEST_DATABASE_URL`` when set (PostgreSQL leg), otherwise a temporary SQLite file."""
        return env("TEST_DATABASE_URL") or "sqlite://"

    def keystore_url(self) -> str:
        """``TEST_KEYSTORE_URL`` when set, otherwise an in-memory key store (tests override)."""
        return env("TEST_KEYSTORE_URL") or "sqlite://"

    def load_secrets(self) -> None:
        """Fresh random secrets for every application the tests create."""
        for name, value in generate_secrets().items():
            setattr(self, name.removeprefix("ASSENSO_"), value)


class ProductionConfig(BaseConfig):
    """Production: every secret must come from the environment; cookies are Secure."""

    ENV_NAME = "production"
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True
    PREFERRED_URL_SCHEME = "https"
    DEMO_ALLOWED = False

    def load_secrets(self) -> None:
        """Refuse to start, naming the first missing variable, unless all secrets are set."""
        for name in SECRET_SETTINGS:
            value = env(name)
            if value is None:
                raise ConfigError(f"{name} is required in production and is not set")
            setattr(self, name.removeprefix("ASSENSO_"), value)
        if env("DATABASE_URL") is None:
            raise ConfigError("DATABASE_URL is required in production and is not set")
        if env("ASSENSO_KEYSTORE_URL") is None:
            raise ConfigError(
                "ASSENSO_KEYSTORE_URL is required in production and is not set "
                "(the key store must be a database apart from DATABASE_URL)"
            )
        self.refuse_development_features()

    def refuse_development_features(self) -> None:
        """Refuse what is safe only on a developer's machine; warn about per-process counters."""
        if self.DEV_MAILBOX:
            raise ConfigError(
                "ASSENSO_DEV_MAILBOX is refused in production: the development mailbox keeps "
                "every message (personal data) and shows it on a web page; unset it"
            )
        if self.RATELIMIT_STORAGE_URI.startswith("memory"):
            log.warning(
                "ASSENSO_RATELIMIT_STORAGE_URI is memory://: each process counts attempts on "
                "its own; set redis://… when more than one web process serves"
            )


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


def config_for(name: str | None = None) -> BaseConfig:
    """Build the configuration object for ``name`` (default: ``ASSENSO_ENV`` or development)."""
    name = name or env("ASSENSO_ENV", "development")
    try:
        return CONFIGS[name]()
    except KeyError:
        raise ConfigError(
            f"ASSENSO_ENV must be one of {', '.join(CONFIGS)}, got {name!r}"
        ) from None
