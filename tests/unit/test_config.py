"""Configuration: production refuses to start without secrets; development generates them."""

from __future__ import annotations

import json
import logging

import pytest

import config
from app import create_app
from config import ConfigError, ProductionConfig, config_for, env_bool, env_int


@pytest.fixture
def clean_env(monkeypatch):
    for name in (*config.SECRET_SETTINGS, "DATABASE_URL", "ASSENSO_KEYSTORE_URL"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_production_names_the_first_missing_secret(clean_env):
    with pytest.raises(ConfigError, match="ASSENSO_SECRET_KEY is required in production"):
        ProductionConfig()


def test_production_names_each_missing_secret_in_turn(clean_env):
    clean_env.setenv("ASSENSO_SECRET_KEY", "s" * 40)
    clean_env.setenv("ASSENSO_VAULT_KEYS", config.generate_secrets()["ASSENSO_VAULT_KEYS"])
    with pytest.raises(ConfigError, match="ASSENSO_BLIND_INDEX_KEYS"):
        ProductionConfig()


def test_production_requires_a_database_url(clean_env):
    for name, value in config.generate_secrets().items():
        clean_env.setenv(name, value)
    with pytest.raises(ConfigError, match="DATABASE_URL"):
        ProductionConfig()
    clean_env.setenv("DATABASE_URL", "postgresql+psycopg://db/assenso")
    with pytest.raises(ConfigError, match="ASSENSO_KEYSTORE_URL"):
        ProductionConfig()
    clean_env.setenv("ASSENSO_KEYSTORE_URL", "postgresql+psycopg://keys/assenso_keys")
    cfg = ProductionConfig()
    assert cfg.SQLALCHEMY_BINDS == {"keystore": "postgresql+psycopg://keys/assenso_keys"}
    assert cfg.SESSION_COOKIE_SECURE is True
    assert cfg.SQLALCHEMY_DATABASE_URI == "postgresql+psycopg://db/assenso"


def test_development_generates_secrets_once_with_a_warning(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="assenso.config"):
        first = config.load_development_secrets(tmp_path)
    assert "DEVELOPMENT ONLY" in caplog.text
    assert (tmp_path / "secrets.json").stat().st_mode & 0o777 == 0o600
    caplog.clear()
    second = config.load_development_secrets(tmp_path)
    assert first == second
    assert caplog.text == ""
    assert set(json.loads((tmp_path / "secrets.json").read_text())) == set(config.SECRET_SETTINGS)


def test_unreadable_secrets_file_is_a_clear_error(tmp_path):
    (tmp_path / "secrets.json").write_text("{not json")
    with pytest.raises(ConfigError, match="unreadable"):
        config.load_development_secrets(tmp_path)


def test_typed_settings_name_the_variable(monkeypatch):
    monkeypatch.setenv("ASSENSO_SMTP_PORT", "twenty-five")
    with pytest.raises(ConfigError, match="ASSENSO_SMTP_PORT must be a whole number"):
        env_int("ASSENSO_SMTP_PORT", 25)
    monkeypatch.setenv("ASSENSO_DEV_MAILBOX", "perhaps")
    with pytest.raises(ConfigError, match="ASSENSO_DEV_MAILBOX must be true or false"):
        env_bool("ASSENSO_DEV_MAILBOX", False)


def test_unknown_environment_name_is_refused():
    with pytest.raises(ConfigError, match="ASSENSO_ENV must be one of"):
        config_for("staging")


def test_default_jurisdiction_must_be_governed_by_a_policy(tmp_path):
    from app.policy import load_policies
    from app.services import check_default_jurisdiction

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


def test_the_embedded_key_store_sits_beside_its_sqlite_database(clean_env, tmp_path):
    clean_env.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'fresh.db'}")
    beside = f"sqlite:///{tmp_path / 'fresh.keystore.sqlite3'}"
    binds = config.BaseConfig().SQLALCHEMY_BINDS
    assert binds == {"keystore": beside}
    assert config.embedded_keystore_url("sqlite:///shop.sqlite3") == (
        "sqlite:///shop.keystore.sqlite3"  # relative, like the database: both beside each other
    )
    assert config.embedded_keystore_url("sqlite://") == "sqlite://"
    assert config.embedded_keystore_url("postgresql+psycopg://db/shop") == (
        f"sqlite:///{config.INSTANCE_DIR / 'shop.keystore.sqlite3'}"
    )
    clean_env.setenv("ASSENSO_KEYSTORE_URL", "sqlite:///elsewhere.sqlite3")
    binds = config.BaseConfig().SQLALCHEMY_BINDS
    assert binds == {"keystore": "sqlite:///elsewhere.sqlite3"}


def test_the_default_database_keeps_the_key_store_it_had(clean_env, monkeypatch, tmp_path):
    monkeypatch.setattr(config, "INSTANCE_DIR", tmp_path)
    default = f"sqlite:///{tmp_path / 'assenso.sqlite3'}"
    assert config.embedded_keystore_url(default).endswith("/assenso.keystore.sqlite3")
    (tmp_path / "keystore.sqlite3").write_bytes(b"")
    assert config.embedded_keystore_url(default) == f"sqlite:///{tmp_path / 'keystore.sqlite3'}"


def test_a_malformed_database_url_is_named(clean_env):
    clean_env.setenv("DATABASE_URL", "not a url")
    with pytest.raises(ConfigError, match="DATABASE_URL is not a database URL"):
        config.BaseConfig()


@pytest.fixture
def production_env(clean_env):
    for name, value in config.generate_secrets().items():
        clean_env.setenv(name, value)
    clean_env.setenv("DATABASE_URL", "postgresql+psycopg://db/assenso")
    clean_env.setenv("ASSENSO_KEYSTORE_URL", "postgresql+psycopg://keys/assenso_keys")
    clean_env.delenv("ASSENSO_DEV_MAILBOX", raising=False)
    clean_env.delenv("ASSENSO_RATELIMIT_STORAGE_URI", raising=False)
    return clean_env


def test_production_refuses_the_development_mailbox(production_env):
    assert ProductionConfig().DEV_MAILBOX is False
    production_env.setenv("ASSENSO_DEV_MAILBOX", "true")
    with pytest.raises(ConfigError, match="ASSENSO_DEV_MAILBOX is refused in production"):
        ProductionConfig()


def test_production_warns_when_attempts_are_counted_per_process(production_env, caplog):
    with caplog.at_level(logging.WARNING, logger="assenso.config"):
        ProductionConfig()
    assert "ASSENSO_RATELIMIT_STORAGE_URI is memory://" in caplog.text
    caplog.clear()
    production_env.setenv("ASSENSO_RATELIMIT_STORAGE_URI", "redis://127.0.0.1:6379")
    with caplog.at_level(logging.WARNING, logger="assenso.config"):
        cfg = ProductionConfig()
    assert caplog.text == ""
    assert cfg.DEMO_ALLOWED is False


def test_session_and_proxy_settings_are_checked(monkeypatch):
    cfg = config_for("testing")
    assert cfg.SESSION_IDLE_MINUTES == {"staff": 30, "customer": 30}
    assert cfg.SESSION_HOURS == {"staff": 8, "customer": 12}
    assert cfg.TRUSTED_PROXY_HOPS == 0
    monkeypatch.setenv("ASSENSO_TRUSTED_PROXY_HOPS", "-1")
    with pytest.raises(ConfigError, match="ASSENSO_TRUSTED_PROXY_HOPS must be at least 0"):
        config_for("testing")
    monkeypatch.delenv("ASSENSO_TRUSTED_PROXY_HOPS")
    monkeypatch.setenv("ASSENSO_CUSTOMER_SESSION_IDLE_MINUTES", "0")
    with pytest.raises(ConfigError, match="ASSENSO_CUSTOMER_SESSION_IDLE_MINUTES must be at"):
        config_for("testing")
    monkeypatch.setenv("ASSENSO_CUSTOMER_SESSION_IDLE_MINUTES", "800")
    with pytest.raises(ConfigError, match="longer than ASSENSO_CUSTOMER_SESSION_HOURS"):
        config_for("testing")


def test_an_unusable_rate_limit_store_stops_the_start_naming_the_setting():
    with pytest.raises(ConfigError, match="ASSENSO_RATELIMIT_STORAGE_URI cannot be used"):
        create_app("testing", RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI="nonsense://x")
