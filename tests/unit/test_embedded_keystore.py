"""A fresh database file gets a fresh key store; a key store of another database is refused.

Runs the commands an operator types, in a checkout that had run before: its key store in
``instance/`` holds the keys of another database.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def flask(tmp_path, *args: str, **settings: str) -> subprocess.CompletedProcess:
    """Run ``flask --app wsgi ARGS`` in development, with its instance folder in ``tmp_path``."""
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "ASSENSO_ENV")},
        "ASSENSO_INSTANCE_PATH": str(tmp_path / "instance"),
        "ASSENSO_DEV_MAILBOX": "false",
        **settings,
    }
    env.pop("ASSENSO_KEYSTORE_URL", None) if "ASSENSO_KEYSTORE_URL" not in settings else None
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_fresh_database_file_gets_its_own_key_store_and_a_stale_one_is_refused(tmp_path):
    stale = f"sqlite:///{tmp_path / 'instance' / 'keystore.sqlite3'}"
    before = {"DATABASE_URL": f"sqlite:///{tmp_path / 'before.db'}", "ASSENSO_KEYSTORE_URL": stale}
    assert flask(tmp_path, "db", "upgrade", **before).returncode == 0
    seeded = flask(tmp_path, "demo", "seed", "--customers", "0", **before)
    assert seeded.returncode == 0, seeded.stderr

    fresh = {"DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.db'}"}
    assert flask(tmp_path, "db", "upgrade", **fresh).returncode == 0
    seeded = flask(tmp_path, "demo", "seed", "--customers", "0", **fresh)
    assert seeded.returncode == 0, seeded.stderr
    assert (tmp_path / "fresh.keystore.sqlite3").exists()

    refused = flask(tmp_path, "vault", "status", **fresh, ASSENSO_KEYSTORE_URL=stale)
    assert refused.returncode == 2
    assert "Traceback" not in refused.stderr
    assert refused.stderr.count("\n") == 1  # one message
    assert "belongs to another database" in refused.stderr
    assert f"{tmp_path / 'before.db'}" in refused.stderr
    assert f"{tmp_path / 'fresh.db'}" in refused.stderr
