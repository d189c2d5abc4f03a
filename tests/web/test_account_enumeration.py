# ruff: noqa: F811  (fixtures imported from test_portal_support)
"""Sign-in, password reset and sign-up answer alike, in similar time, whether an account exists."""

from __future__ import annotations

import re
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy import event

from app.extensions import db
from app.self_service.mail import wait_for_background_mail
from tests.conftest import TEST_PASSWORD
from tests.helpers import csrf_token
from tests.web.test_portal_support import (  # noqa: F401  (fixtures)
    create_customer,
    mailbox,
    portal_app,
)

RUNS = 5
#: Generous, so that a busy machine does not fail the test; the leaks it guards against were
#: more than twice as slow for real accounts.
MAX_RATIO = 1.5
TOKEN = re.compile(r'name="csrf_token" type="hidden" value="[^"]+"')


def _seconds(post: Callable[[str], object], email: str) -> float:
    """How long ``post(email)`` takes; background mail is finished before the next one."""
    started = time.perf_counter()
    post(email)
    elapsed = time.perf_counter() - started
    wait_for_background_mail()
    return elapsed


def _cpu_seconds(post: Callable[[str], object], email: str) -> float:
    """The processor time the answering thread spends on ``post(email)``: the work done before
    the answer, which neither the machine's other processes nor a background thread competing
    for the interpreter add to; background mail is finished before the next one."""
    started = time.thread_time()
    post(email)
    elapsed = time.thread_time() - started
    wait_for_background_mail()
    return elapsed


def _compare(post: Callable[[str], object], known: list[str], unknown: list[str]) -> float:
    """The ratio of the slower to the faster path, each timed at its fastest (the machine's
    other work only ever adds time), the two measured in alternation after a warm-up."""
    _seconds(post, known[0]), _seconds(post, unknown[0])
    pairs = [
        (_seconds(post, a), _seconds(post, b)) for a, b in zip(known[1:], unknown[1:], strict=True)
    ]
    fastest_known = min(a for a, _ in pairs)
    fastest_unknown = min(b for _, b in pairs)
    return max(fastest_known, fastest_unknown) / min(fastest_known, fastest_unknown)


def _compare_work(post: Callable[[str], object], known: list[str], unknown: list[str]) -> float:
    """The ratio of the larger to the smaller median processor time of the two paths, measured
    in alternation after a warm-up."""
    _cpu_seconds(post, known[0]), _cpu_seconds(post, unknown[0])
    pairs = [
        (_cpu_seconds(post, a), _cpu_seconds(post, b))
        for a, b in zip(known[1:], unknown[1:], strict=True)
    ]
    known_work = statistics.median(a for a, _ in pairs)
    unknown_work = statistics.median(b for _, b in pairs)
    return max(known_work, unknown_work) / min(known_work, unknown_work)


@contextmanager
def _statements() -> Iterator[list[str]]:
    """The SQL statements the current thread runs inside the block (other threads' are not
    counted)."""
    thread = threading.get_ident()
    seen: list[str] = []

    def record(_connection, _cursor, statement, _parameters, _context, _many) -> None:
        if threading.get_ident() == thread:
            seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


def _page(response, email: str) -> str:
    """The response as a person sees it, without the per-request CSRF token and the address
    typed in (echoed in the form)."""
    return TOKEN.sub("", response.get_data(as_text=True)).replace(email, "ADDRESS")


def _people(create_customer, runs: int = RUNS) -> tuple[list[str], list[str]]:
    """Addresses to time, warm-up first: a real account's and one without an account."""
    create_customer("known@example.com")
    return ["known@example.com"] * (runs + 1), ["nobody@example.com"] * (runs + 1)


def test_sign_in_answers_alike_in_similar_time(portal_app, create_customer):
    known, unknown = _people(create_customer)
    client = portal_app.test_client()
    token = csrf_token(client, "/login")

    def post(email: str):
        data = {"csrf_token": token, "email": email, "password": "not the password at all"}
        return client.post("/login", data=data)

    first, second = post(known[0]), post(unknown[0])
    assert "do not match" in _page(first, known[0])
    assert (first.status_code, _page(first, known[0])) == (
        second.status_code,
        _page(second, unknown[0]),
    )
    assert _compare(post, known, unknown) < MAX_RATIO


def test_password_reset_answers_alike_in_similar_time(portal_app, create_customer, mailbox):
    known, unknown = _people(create_customer, runs=15)  # quick requests: more runs
    client = portal_app.test_client()
    token = csrf_token(client, "/password/forgot")

    def post(email: str):
        return client.post("/password/forgot", data={"csrf_token": token, "email": email})

    with _statements() as for_known:
        first = post(known[0])
    with _statements() as for_unknown:
        second = post(unknown[0])
    assert first.headers["Location"] == second.headers["Location"] == "/login"
    # The answer does the same work: the same statements (the lookup runs after it, in the
    # background) and as much processor time, whatever the machine's load.
    assert for_known == for_unknown
    assert _compare_work(post, known, unknown) < MAX_RATIO
    wait_for_background_mail()
    store = mailbox[0]
    recipients = {store.read(name).summary.recipient for name in store.names()}
    assert recipients == {"known@example.com"}  # reset links went to the real account only


def test_sign_up_answers_alike_in_similar_time(portal_app, create_customer, mailbox):
    known, _ = _people(create_customer)
    fresh = iter(f"new{n}@example.com" for n in range(20))
    client = portal_app.test_client()
    token = csrf_token(client, "/signup")

    def post(email: str):
        data = {
            "csrf_token": token,
            "email": next(fresh) if email == "new" else email,
            "password": TEST_PASSWORD,
            "confirm": TEST_PASSWORD,
            "language": "en",
            "timezone": "Europe/Rome",
            "age_confirmed": "y",
        }
        return client.post("/signup", data=data)

    first, second = post(known[0]), post("new")
    assert (first.status_code, first.headers["Location"]) == (302, "/login")
    assert (second.status_code, second.headers["Location"]) == (302, "/login")
    assert _compare(post, known, ["new"] * len(known)) < MAX_RATIO
