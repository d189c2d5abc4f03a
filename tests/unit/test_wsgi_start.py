"""Starting the application with a bad setting or policy file: one clear message, no traceback."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from config import generate_secrets

ROOT = Path(__file__).resolve().parents[2]


def _start(tmp_path, **settings) -> subprocess.CompletedProcess:
    env = {**os.environ, "ASSENSO_INSTANCE_PATH": str(tmp_path / "instance"), **settings}
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "policy", "list"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_bad_default_jurisdiction_stops_the_start_with_its_name(tmp_path):
    done = _start(tmp_path, ASSENSO_DEFAULT_JURISDICTION="italy")
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "ASSENSO_DEFAULT_JURISDICTION must be a two-letter code" in done.stderr


def test_an_invalid_policy_file_stops_the_start_naming_file_and_line(tmp_path):
    policies = tmp_path / "policies"
    shutil.copytree(ROOT / "policies", policies)
    with (policies / "eu-gdpr.yaml").open("a") as broken:
        broken.write("version: [\n")
    done = _start(tmp_path, ASSENSO_POLICY_DIR=str(policies))
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "the policy files are invalid" in done.stderr
    assert "eu-gdpr.yaml:" in done.stderr


def test_the_development_mailbox_stops_a_production_start(tmp_path):
    done = _start(
        tmp_path,
        ASSENSO_ENV="production",
        DATABASE_URL=f"sqlite:///{tmp_path / 'main.sqlite3'}",
        ASSENSO_KEYSTORE_URL=f"sqlite:///{tmp_path / 'keys.sqlite3'}",
        ASSENSO_DEV_MAILBOX="true",
        **generate_secrets(),
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "ASSENSO_DEV_MAILBOX is refused in production" in done.stderr


def test_an_unknown_boolean_stops_the_start_naming_the_variable(tmp_path):
    done = _start(tmp_path, ASSENSO_WORKER_ASYNC_COMMIT="ture")
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "ASSENSO_WORKER_ASYNC_COMMIT must be true or false" in done.stderr
    assert "got 'ture'" in done.stderr
