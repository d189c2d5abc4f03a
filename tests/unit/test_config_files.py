"""Secrets from files: every setting ``NAME`` may be given as ``NAME_FILE=/path`` instead."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import config
from app.settings import load_settings
from config import ConfigError

ROOT = Path(__file__).resolve().parents[2]
MAIN_URL = "postgresql+psycopg://assenso_app:pa55@db.internal/assenso"
KEYS_URL = "postgresql+psycopg://assenso_keys:k3ys@keys.internal/keys"
URLS = {"DATABASE_URL": MAIN_URL, "ASSENSO_KEYSTORE_URL": KEYS_URL}


def _secret_files(folder: Path, values: dict[str, str]) -> dict[str, str]:
    """Write each value to a file of its own, as a container runtime mounts secrets."""
    folder.mkdir(exist_ok=True)
    variables = {}
    for name, value in values.items():
        path = folder / name.lower()
        path.write_text(value + "\n")  # `echo` and most secret tools end with a newline
        variables[f"{name}_FILE"] = str(path)
    return variables


def test_every_secret_of_production_can_come_from_a_file(tmp_path):
    values = {
        **config.generate_secrets(),
        **URLS,
        "ASSENSO_SMTP_PASSWORD": "smtp pass with spaces",
    }
    settings = load_settings("production", environ=_secret_files(tmp_path / "secrets", values))
    assert settings.secret_key == values["ASSENSO_SECRET_KEY"]
    assert settings.vault_keys == values["ASSENSO_VAULT_KEYS"]
    assert settings.blind_index_keys == values["ASSENSO_BLIND_INDEX_KEYS"]
    assert settings.ledger_signing_key == values["ASSENSO_LEDGER_SIGNING_KEY"]
    assert (settings.database_url, settings.keystore_url) == (MAIN_URL, KEYS_URL)
    assert settings.smtp_password == "smtp pass with spaces"


def test_worker_and_web_settings_read_files_too(tmp_path):
    """Every declared setting takes ``_FILE``: the SMS provider's secret, a worker's batch."""
    values = {"ASSENSO_SMS_INBOUND_SECRET": "shared-with-the-provider"}
    environ = _secret_files(tmp_path, {**values, "ASSENSO_WORKER_BATCH_SIZE": "40"})
    settings = load_settings("testing", environ=environ)
    assert settings.sms_inbound_secret == "shared-with-the-provider"
    assert settings.worker_batch_size == 40


def test_a_value_and_a_file_for_one_setting_are_refused_naming_both(tmp_path):
    path = tmp_path / "key"
    path.write_text("from the file")
    environ = {"ASSENSO_SECRET_KEY": "from the environment", "ASSENSO_SECRET_KEY_FILE": str(path)}
    with pytest.raises(
        ConfigError, match="ASSENSO_SECRET_KEY and ASSENSO_SECRET_KEY_FILE are both"
    ):
        load_settings("testing", environ=environ)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda folder: folder / "missing", r"cannot be read \(No such file or directory\)"),
        (lambda folder: folder, r"cannot be read \(Is a directory\)"),
        (lambda folder: _write(folder / "empty", b"\n"), "is empty"),
        (lambda folder: _write(folder / "binary", b"\xff\xfe"), "is not UTF-8 text"),
    ],
)
def test_an_unusable_file_is_a_clear_error_naming_the_variable(tmp_path, make, message):
    path = make(tmp_path)
    with pytest.raises(ConfigError, match=f"ASSENSO_VAULT_KEYS_FILE: {path}.* {message}"):
        load_settings("testing", environ={"ASSENSO_VAULT_KEYS_FILE": str(path)})


def _write(path: Path, content: bytes) -> Path:
    path.write_bytes(content)
    return path


def test_a_missing_secret_file_stops_the_start_with_one_line(tmp_path):
    """The command an operator runs: no traceback, exit status 2, the variable named."""
    env_vars = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("ASSENSO_", "DATABASE_URL"))
    }
    env_vars.update(
        ASSENSO_INSTANCE_PATH=str(tmp_path / "instance"),
        ASSENSO_ENV="production",
        DATABASE_URL=f"sqlite:///{tmp_path / 'main.sqlite3'}",
        ASSENSO_KEYSTORE_URL=f"sqlite:///{tmp_path / 'keys.sqlite3'}",
        **config.generate_secrets(),
    )
    del env_vars["ASSENSO_LEDGER_SIGNING_KEY"]
    env_vars["ASSENSO_LEDGER_SIGNING_KEY_FILE"] = str(tmp_path / "run" / "signing-key")
    done = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "policy", "list"],
        cwd=ROOT,
        env=env_vars,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert "ASSENSO_LEDGER_SIGNING_KEY_FILE: " in done.stderr
    assert "cannot be read (No such file or directory)" in done.stderr
