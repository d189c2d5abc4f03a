"""A second web process for the shared rate-limit tests (run as ``python -m``; no tests here).

It builds its own application on the given database and rate-limit store, makes sign-in
attempts through the test client and prints their status codes as JSON, so a test can show
that two processes count against one shared store.
"""

from __future__ import annotations

import json
import sys


def attempts(settings: dict, email: str, password: str, count: int, address: str) -> list[int]:
    """Status codes of ``count`` staff sign-in attempts from client ``address``."""
    from app import create_app

    app = create_app("testing", WTF_CSRF_ENABLED=False, **settings)
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    data = {"email": email, "password": password}
    with app.app_context():
        return [client.post("/staff/login", data=data).status_code for _ in range(count)]


if __name__ == "__main__":
    request = json.loads(sys.argv[1])
    print(json.dumps(attempts(**request)))
