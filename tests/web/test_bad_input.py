"""Malformed and oversized input on every form: a clear answer, never a 500, nothing changed.

The test walks the URL map, so every form added later is covered without editing it.
"""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, text

from app.extensions import db
from app.web.access import PUBLIC, rule_for
from tests.helpers import CSRF_RE
from tests.web.urls import routes_of

ROLES = ("admin", "marketer", "compliance_officer")
JUNK_VALUES = [
    "x" * 100_000,
    "\x00\x01\x02 binary \ud7ff",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "-1",
    "99999999999999999999999999",
    "",
]
FIELD_NAMES = [
    "email",
    "password",
    "name",
    "role",
    "purpose",
    "channel",
    "reason",
    "value",
    "field",
    "shared",
    "subject",
    "body",
    "start",
    "end",
    "weekly_cap",
    "paused_until",
    "q",
    "at",
    "confirm",
    "new_password",
    "current_password",
    "language",
    "timezone",
    "version",
]


#: Endpoints that end the session whatever the input (tested in test_auth).
SESSION_ENDERS = {"auth.logout", "auth.logout_everywhere"}
#: Buttons that take no input at all: any POST is a valid request to act (tested elsewhere).
INPUTLESS_ACTIONS = {"compliance.verify", "compliance.checkpoint"}


def snapshot() -> dict[str, list]:
    """Every row of every table, to prove nothing changed."""
    state = {}
    with db.engine.connect() as connection:
        for table in sorted(inspect(connection).get_table_names()):
            rows = connection.execute(text(f'SELECT * FROM "{table}"')).all()
            state[table] = sorted(map(repr, rows))
    return state


def _token(client, url: str) -> str:
    page = client.get(url)
    match = CSRF_RE.search(page.get_data(as_text=True))
    if match:
        return match.group(1) or match.group(2)
    home = client.get("/")
    match = CSRF_RE.search(home.get_data(as_text=True))
    return (match.group(1) or match.group(2)) if match else ""


def _post_rules(app, role: str | None):
    for rule, url in routes_of(app, method="POST"):
        allowed = rule_for(app, rule.endpoint)
        if rule.endpoint in SESSION_ENDERS | INPUTLESS_ACTIONS:
            continue
        if allowed == PUBLIC or (role is not None and role in allowed):
            yield rule, url


def _hammer(client, app, role):
    failures = []
    for rule, url in _post_rules(app, role):
        token = _token(client, url)
        for value in JUNK_VALUES:
            data = dict.fromkeys(FIELD_NAMES, value)
            data["csrf_token"] = token
            response = client.post(url, data=data)
            if response.status_code >= 500:
                failures.append((rule.endpoint, response.status_code, value[:20]))
    return failures


def test_public_forms_survive_junk_without_changing_state(app, client):
    before = snapshot()
    assert _hammer(client, app, None) == []
    assert snapshot() == before


@pytest.mark.parametrize("role", ROLES)
def test_staff_forms_survive_junk_without_changing_state(app, client, create_staff, login, role):
    user = create_staff(role)
    login(user.email)
    before = snapshot()
    assert _hammer(client, app, role) == []
    after = snapshot()
    # Signing in updates last_login_at only; nothing else may change.
    assert {k: v for k, v in after.items() if k != "staff_users"} == {
        k: v for k, v in before.items() if k != "staff_users"
    }
