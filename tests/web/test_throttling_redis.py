"""Rate limits in Redis are shared by every web process (skipped only when Redis is absent)."""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
import redis

from app.accounts.service import create_staff_user
from app.extensions import db
from tests.conftest import TEST_PASSWORD
from tests.helpers import post_form

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = "redis://127.0.0.1:6379/0"
WRONG = "not the right password"


@pytest.fixture
def shared_store():
    """Settings of a rate-limit store in the local Redis under a prefix of this test's own."""
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.RedisError:
        pytest.skip("Redis is not reachable at 127.0.0.1:6379")
    prefix = f"assenso-auth-test-{secrets.token_hex(6)}"
    yield {
        "RATELIMIT_ENABLED": True,
        "RATELIMIT_STORAGE_URI": REDIS_URL,
        "RATELIMIT_KEY_PREFIX": prefix,
        "SECRET_KEY": secrets.token_urlsafe(32),  # every web process shares the secret
    }
    keys = list(client.scan_iter(f"{prefix}:*"))
    if keys:
        client.delete(*keys)
    client.close()


def _other_process(settings: dict, **attempt) -> list[int]:
    """Sign-in attempts made by a separate web process on the same store."""
    request = json.dumps({"settings": settings, "password": WRONG, **attempt})
    done = subprocess.run(
        [sys.executable, "-m", "tests.web.limit_probe", request],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_two_processes_count_failed_sign_ins_together(
    app_factory, shared_store, database_url, keystore_url
):
    app = app_factory(**shared_store)
    with app.app_context():
        email = create_staff_user(
            db.session, "shared@staff.example.com", "admin", TEST_PASSWORD
        ).email
    settings = {
        **shared_store,
        "DATABASE_URL": database_url,
        "KEYSTORE_URL": keystore_url,
    }
    assert _other_process(settings, email=email, count=6, address="198.51.100.1") == [200] * 6
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = "198.51.100.2"
    data = {"email": email, "password": WRONG}
    here = [post_form(client, "/staff/login", data).status_code for _ in range(5)]
    assert here == [200] * 4 + [429]  # 6 there + 4 here = the 10 allowed per account
    assert _other_process(settings, email=email, count=2, address="198.51.100.3") == [429, 429]
    prefix = shared_store["RATELIMIT_KEY_PREFIX"]
    store = redis.Redis.from_url(REDIS_URL)
    keys = store.keys(f"{prefix}:*")
    store.close()
    assert keys and not any(email.encode() in key for key in keys)  # no address in the store
