"""Settings: one typed object, every bad value named, production refuses to start without
its secrets, development generates them once."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import pytest

import config
from app import create_app
from app.settings import load_settings
from app.settings.flask_config import flask_config
from config import ConfigError

ROOT = Path(__file__).resolve().parents[2]
DATABASES = {
    "DATABASE_URL": "postgresql+psycopg://db/assenso",
    "ASSENSO_KEYSTORE_URL": "postgresql+psycopg://keys/assenso_keys",
}


@pytest.fixture
def production() -> dict[str, str]:
    """A complete production environment (secrets, database, key store)."""
    return {**config.generate_secrets(), **DATABASES}


def test_production_names_each_missing_secret_in_turn(production):
    for name in config.SECRET_SETTINGS:
        missing = {key: value for key, value in production.items() if key != name}
        with pytest.raises(ConfigError, match=f"{name} is required in production"):
            load_settings("production", environ=missing)


def test_production_requires_its_databases(production):
    for name in DATABASES:
        missing = {key: value for key, value in production.items() if key != name}
        with pytest.raises(ConfigError, match=f"{name} is required in production"):
            load_settings("production", environ=missing)
    settings = load_settings("production", environ=production)
    assert settings.keystore_url == DATABASES["ASSENSO_KEYSTORE_URL"]
    assert settings.demo_allowed is False and settings.dev_mailbox is False
    flask = flask_config(settings)
    assert flask["SQLALCHEMY_DATABASE_URI"] == DATABASES["DATABASE_URL"]
    assert flask["SESSION_COOKIE_SECURE"] is True and flask["PREFERRED_URL_SCHEME"] == "https"


def test_development_generates_secrets_once_with_a_warning(tmp_path, caplog):
    environ = {"ASSENSO_INSTANCE_PATH": str(tmp_path)}
    with caplog.at_level(logging.WARNING, logger="assenso.config"):
        first = load_settings("development", environ=environ)
    assert "DEVELOPMENT ONLY" in caplog.text
    assert (tmp_path / "secrets.json").stat().st_mode & 0o777 == 0o600
    caplog.clear()
    second = load_settings("development", environ=environ)
    assert first.secret_key == second.secret_key and first.vault_keys == second.vault_keys
    assert caplog.text == ""
    assert set(json.loads((tmp_path / "secrets.json").read_text())) == set(config.SECRET_SETTINGS)
    assert first.dev_mailbox is True and first.dev_mailbox_dir == tmp_path / "mailbox"
    assert first.database_url == f"sqlite:///{tmp_path / 'assenso.sqlite3'}"


def test_unreadable_secrets_file_is_a_clear_error(tmp_path):
    (tmp_path / "secrets.json").write_text("{not json")
    with pytest.raises(ConfigError, match="unreadable"):
        load_settings("development", environ={"ASSENSO_INSTANCE_PATH": str(tmp_path)})


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("ASSENSO_DEV_MAILBOX", "ture", "must be true or false"),
        ("ASSENSO_WORKER_ASYNC_COMMIT", "perhaps", "must be true or false"),
        ("ASSENSO_SMTP_PORT", "twenty-five", "must be a whole number from 1 to 65535"),
        ("ASSENSO_SMTP_PORT", "70000", "must be a whole number from 1 to 65535"),
        ("ASSENSO_SMTP_SECURITY", "tls", "must be one of none, starttls, ssl"),
        ("ASSENSO_SMTP_TIMEOUT_SECONDS", "0", "must be a number more than 0"),
        ("ASSENSO_WORKER_LEASE_SECONDS", "2", "must be a whole number of at least 5"),
        ("ASSENSO_WORKER_IDLE_SECONDS", "soon", "must be a number"),
        ("ASSENSO_SMS_TIMEOUT_SECONDS", "inf", "must be a number"),
        ("ASSENSO_UNSUBSCRIBE_TOKEN_DAYS", "0", "must be a whole number of at least 1"),
        ("ASSENSO_LOGIN_RATE_LIMIT", "ten a minute", "must be a rate limit"),
        ("ASSENSO_PUBLIC_BASE_URL", "shop.example", "must be an absolute http"),
        ("ASSENSO_TRUSTED_PROXY_HOPS", "-1", "must be a whole number of at least 0"),
        ("ASSENSO_SCHEDULER_SYNC_SECONDS", "-5", "must be a number more than 0"),
        ("ASSENSO_ENV", "staging", "must be one of development, testing, production"),
        ("TEST_DATABASE_URL", "not a url", "is not a database URL"),
    ],
)
def test_an_invalid_value_stops_the_start_naming_the_variable(variable, value, message):
    with pytest.raises(ConfigError, match=f"^{variable} {message}.*got '{re.escape(value)}'"):
        load_settings(environ={"ASSENSO_ENV": "testing", variable: value})


def test_a_secret_is_never_printed(production):
    production["ASSENSO_APP_DATABASE_URL"] = "::not a url hunter2"
    with pytest.raises(ConfigError, match="ASSENSO_APP_DATABASE_URL") as raised:
        load_settings("production", environ=production)
    assert "hunter2" not in str(raised.value)
    settings = load_settings("production", environ={**production, "ASSENSO_APP_DATABASE_URL": ""})
    assert production["ASSENSO_SECRET_KEY"] not in repr(settings)


def test_blank_means_unset_and_an_override_is_checked_like_the_environment():
    settings = load_settings("testing", environ={"ASSENSO_SMTP_PORT": "  "})
    assert settings.smtp_port == 8025
    assert load_settings("testing", {"SMTP_PORT": 2525}).smtp_port == 2525
    with pytest.raises(ConfigError, match="ASSENSO_DEV_MAILBOX must be true or false"):
        load_settings("testing", {"DEV_MAILBOX": "ture"})
    with pytest.raises(TypeError, match="not settings: SMTP_PROT"):
        load_settings("testing", {"SMTP_PROT": 25})
    with pytest.raises(TypeError, match="override DATABASE_URL instead"):
        create_app("testing", SQLALCHEMY_DATABASE_URI="sqlite://")


def test_the_testing_environment_reads_its_own_databases():
    environ = {"DATABASE_URL": "postgresql+psycopg://production/db", "ASSENSO_KEYSTORE_URL": "x"}
    settings = load_settings("testing", environ=environ)
    assert (settings.database_url, settings.keystore_url) == ("sqlite://", "sqlite://")
    environ = {"TEST_DATABASE_URL": "sqlite:///t.db", "TEST_KEYSTORE_URL": "sqlite:///k.db"}
    settings = load_settings("testing", environ=environ)
    assert (settings.database_url, settings.keystore_url) == ("sqlite:///t.db", "sqlite:///k.db")


def test_default_jurisdiction_must_be_governed_by_a_policy(tmp_path):
    from app.policy import load_policies
    from app.startup import check_default_jurisdiction

    shipped = load_policies(config.BASE_DIR / "policies")
    check_default_jurisdiction("EU", shipped)
    check_default_jurisdiction("CH", shipped)  # the default policy governs it
    for bad in ("eu", "EUR", "", None, "É1"):
        with pytest.raises(ConfigError, match="must be a two-letter code"):
            check_default_jurisdiction(bad, shipped)
    policy = (config.BASE_DIR / "policies" / "us-can-spam.yaml").read_text()
    (tmp_path / "us-can-spam.yaml").write_text(policy)
    only_us = load_policies(tmp_path)
    assert only_us.default is None
    check_default_jurisdiction("US", only_us)
    with pytest.raises(ConfigError, match="'IT' is governed by no policy file"):
        check_default_jurisdiction("IT", only_us)


def test_the_embedded_key_store_sits_beside_its_sqlite_database(tmp_path):
    environ = {"ASSENSO_INSTANCE_PATH": str(tmp_path)}
    fresh = {**environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.db'}"}
    beside = f"sqlite:///{tmp_path / 'fresh.keystore.sqlite3'}"
    assert load_settings("development", environ=fresh).keystore_url == beside
    assert config.embedded_keystore_url("sqlite:///shop.sqlite3", tmp_path) == (
        "sqlite:///shop.keystore.sqlite3"  # relative, like the database: both beside each other
    )
    assert config.embedded_keystore_url("sqlite://", tmp_path) == "sqlite://"
    assert config.embedded_keystore_url("postgresql+psycopg://db/shop", tmp_path) == (
        f"sqlite:///{tmp_path / 'shop.keystore.sqlite3'}"
    )
    elsewhere = {**fresh, "ASSENSO_KEYSTORE_URL": "sqlite:///elsewhere.sqlite3"}
    assert load_settings("development", environ=elsewhere).keystore_url == (
        "sqlite:///elsewhere.sqlite3"
    )


def test_the_default_database_keeps_the_key_store_it_had(tmp_path):
    environ = {"ASSENSO_INSTANCE_PATH": str(tmp_path)}
    assert load_settings("development", environ=environ).keystore_url.endswith(
        "/assenso.keystore.sqlite3"
    )
    (tmp_path / "keystore.sqlite3").write_bytes(b"")
    assert load_settings("development", environ=environ).keystore_url == (
        f"sqlite:///{tmp_path / 'keystore.sqlite3'}"
    )


def test_production_refuses_the_development_mailbox(production):
    with pytest.raises(ConfigError, match="ASSENSO_DEV_MAILBOX is refused in production"):
        load_settings("production", environ={**production, "ASSENSO_DEV_MAILBOX": "true"})


def test_production_warns_when_attempts_are_counted_per_process(production, caplog):
    with caplog.at_level(logging.WARNING, logger="assenso.config"):
        load_settings("production", environ=production)
    assert "ASSENSO_RATELIMIT_STORAGE_URI is memory://" in caplog.text
    caplog.clear()
    production["ASSENSO_RATELIMIT_STORAGE_URI"] = "redis://127.0.0.1:6379"
    with caplog.at_level(logging.WARNING, logger="assenso.config"):
        load_settings("production", environ=production)
    assert caplog.text == ""


def test_settings_that_contradict_each_other_are_named():
    settings = load_settings("testing", environ={})
    assert (settings.staff_session_idle_minutes, settings.staff_session_hours) == (30, 8)
    assert settings.customer_session_hours == 12 and settings.trusted_proxy_hops == 0
    assert settings.scheduler_heartbeat_seconds == settings.scheduler_lock_ttl_seconds / 3
    with pytest.raises(ConfigError, match="longer than ASSENSO_CUSTOMER_SESSION_HOURS"):
        load_settings("testing", environ={"ASSENSO_CUSTOMER_SESSION_IDLE_MINUTES": "800"})
    with pytest.raises(ConfigError, match="DKIM needs ASSENSO_DKIM_SELECTOR"):
        load_settings("testing", environ={"ASSENSO_DKIM_SELECTOR": "s1"})


def test_an_unusable_rate_limit_store_stops_the_start_naming_the_setting():
    with pytest.raises(ConfigError, match="ASSENSO_RATELIMIT_STORAGE_URI cannot be used"):
        create_app("testing", RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI="nonsense://x")


READS_OUTSIDE_SETTINGS = re.compile(
    r"os\.environ|os\.getenv|\.config\[|\.config\.get\(|envvar=|from config import (?!ConfigError)"
)


def test_the_application_reads_its_settings_only_through_the_typed_object():
    readers = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in sorted((ROOT / "app").rglob("*.py"))
        if "settings" not in path.relative_to(ROOT / "app").parts[:1]
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if READS_OUTSIDE_SETTINGS.search(line)
    ]
    assert readers == []
