"""Fuzzing every route, form field and query parameter as every role: never a server error.

Two passes over the URL map, as anonymous visitors, customers and each staff role:

* a sweep that sets each field of each form (and each query parameter) in turn to every
  boundary value of its kind — dates such as 9999-12-31, numbers beyond 64 bits, ``²``,
  templates that cannot render — and posts JSON bodies of every wrong type;
* Hypothesis drawing path arguments (real ids and fuzzed ones), query strings, form bodies
  and JSON bodies at random, shrinking any failure to its smallest form.

Every answer must be below 500, and every HTML 400 a normal page. CSRF tokens are taken from
the application's own pages. The sweep runs on every engine (PostgreSQL refuses text and
numbers that SQLite takes), the random pass on SQLite; the examples are bounded so the fuzz
takes about a minute per engine.
"""

from __future__ import annotations

import os

import pytest
from argon2 import PasswordHasher
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.accounts import passwords
from app.extensions import db
from app.self_service.mail import wait_for_background_mail
from tests.conftest import TEST_PASSWORD
from tests.helpers import CSRF_RE, sign_in
from tests.web.fuzz_world import build_world
from tests.web.fuzzing import describe, fresh, requests_for, sweep, targets_of
from tests.web.test_portal_support import mailbox  # noqa: F401  (fixture)

pytestmark = pytest.mark.fuzz
ROLES = (None, "customer", "marketer", "compliance_officer", "admin")
#: Tests run on SQLite only (the sweep runs on every engine: PostgreSQL refuses some text and
#: numbers that SQLite takes).
SQLITE_ONLY = {"test_random_requests_never_make_a_server_error"}
#: Random examples per route and method (``FUZZ_EXAMPLES`` raises it for a longer hunt).
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "10"))


@pytest.fixture
def fuzzed(engine_name, request, monkeypatch):
    """(app, client, targets, samples, csrf token) for the role of the test, on SQLite only."""
    if engine_name != "sqlite" and request.function.__name__ in SQLITE_ONLY:
        pytest.skip("the random pass runs on SQLite; the sweep covers PostgreSQL")
    app_factory = request.getfixturevalue("app_factory")
    _store, smtp_port = request.getfixturevalue("mailbox")  # e-mails stay in the test
    # Thousands of sign-in and sign-up attempts: argon2 at its lightest keeps them fast
    # (what is fuzzed is the handling of input, not the cost of hashing).
    monkeypatch.setattr(
        passwords, "_hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    )
    role = request.node.callspec.params["role"]
    app = app_factory(SMTP_PORT=smtp_port)
    with app.app_context():
        world = build_world(db.session)
        client = app.test_client()
        if role is not None:
            sign_in(client, world.emails[role], TEST_PASSWORD, staff=role != "customer")
        page = client.get("/account/password" if role else "/login").get_data(as_text=True)
        match = CSRF_RE.search(page)
        token = match.group(1) or match.group(2)
        yield app, client, targets_of(app, client, role, world.samples), world.samples, token
        wait_for_background_mail()  # password-reset e-mails are sent on a thread


def _send(client, request: dict, token: str) -> tuple[int, str | None]:
    """Send ``request``: its status, and what is wrong with the answer (``None``: nothing)."""
    if "data" in request:
        request = {**request, "data": {**request["data"], "csrf_token": token}}
    response = client.open(**request, headers={"X-CSRFToken": token})
    problem = None
    try:
        if response.status_code >= 500:
            problem = f"{response.status_code} for {describe(request)}"
        elif response.status_code == 400 and response.mimetype == "text/html":
            page = response.get_data(as_text=True)
            if "<main" not in page or "Traceback" in page:
                problem = f"bare 400 page for {describe(request)}"
    finally:
        response.close()
    return response.status_code, problem


@pytest.mark.parametrize("role", ROLES, ids=lambda role: role or "anonymous")
def test_boundary_values_of_every_field_never_make_a_server_error(fuzzed, role):
    app, client, targets, samples, token = fuzzed
    problems = []
    for target in targets:
        current = [target]
        for request in sweep(lambda current=current: current[0], samples):
            status, problem = _send(client, request, token)
            if problem:
                problems.append(f"{target.rule.endpoint}: {problem}")
            if request["method"] == "POST" and 300 <= status < 400:  # saved: new version shown
                current[0] = fresh(app, client, current[0])
    assert not problems, "\n".join(problems)


def _fuzz(client, target, samples, token: str) -> None:
    """``EXAMPLES`` random requests to ``target``; Hypothesis shrinks a failing one."""

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        print_blob=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(st.data())
    def fuzz(data):
        _status, problem = _send(client, data.draw(requests_for(target, samples)), token)
        assert problem is None, problem

    fuzz()


@pytest.mark.parametrize("role", ROLES, ids=lambda role: role or "anonymous")
def test_random_requests_never_make_a_server_error(fuzzed, role):
    _app, client, targets, samples, token = fuzzed
    failures = []
    for target in targets:
        try:
            _fuzz(client, target, samples, token)
        except AssertionError as exc:
            failures.append(f"{target.rule.endpoint}: {exc}")
    assert not failures, "\n".join(failures)
