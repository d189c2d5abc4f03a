"""Fixtures and helpers shared by the portal tests (no tests of its own).

A real SMTP server (the development mailbox's aiosmtpd handler) receives the portal's
confirmation and reset e-mails, so tests read links the way a customer would.
"""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Iterator

import pytest

from app.channels.devmailbox import MailboxStore, start_mailbox_server
from tests.conftest import TEST_PASSWORD

LINK_RE = re.compile(r"https?://\S+")
PUBLIC_BASE = "http://portal.test"


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def mailbox(tmp_path) -> Iterator[tuple[MailboxStore, int]]:
    """A local SMTP server storing what it receives; yields (store, port)."""
    store = MailboxStore(tmp_path / "mailbox")
    port = free_port()
    controller = start_mailbox_server(store, "127.0.0.1", port)
    try:
        yield store, port
    finally:
        controller.stop()


@pytest.fixture
def portal_app(app_factory, mailbox):
    """The app sending e-mail to the test mailbox, with every notice published."""
    from app.demo.seed import seed_notices
    from app.extensions import db

    app = app_factory(SMTP_PORT=mailbox[1], PUBLIC_BASE_URL=PUBLIC_BASE)
    with app.app_context():
        seed_notices(db.session)
        yield app


@pytest.fixture
def portal_client(portal_app):
    """A test client of ``portal_app``."""
    return portal_app.test_client()


@pytest.fixture
def create_customer(portal_app):
    """Builder: ``create_customer(email, password=TEST_PASSWORD, **profile)`` -> Customer."""
    from app.accounts.passwords import hash_password
    from app.extensions import db
    from app.vault.service import register_customer

    def build(email: str, password: str = TEST_PASSWORD, language: str = "en", **profile):
        return register_customer(
            db.session,
            email=email,
            profile=profile,
            password_hash=hash_password(password),
            language=language,
            age_attested=16,
        )

    return build


def wait_for_mail(store: MailboxStore, count: int = 1, timeout: float = 5.0) -> list:
    """The newest ``count`` stored messages, waiting for them to arrive."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        names = store.names()
        if len(names) >= count:
            return [store.read(name) for name in names[:count]]
        time.sleep(0.05)
    raise AssertionError(f"expected {count} message(s), got {len(store.names())}")


def links_in(message) -> list[str]:
    """Every link in a stored message's text, as a path on the portal."""
    return [link.removeprefix(PUBLIC_BASE) for link in LINK_RE.findall(message.text)]


def sign_in_customer(client, email: str, password: str = TEST_PASSWORD):
    """Sign a customer in through the real form."""
    from tests.helpers import sign_in

    return sign_in(client, email, password, staff=False)
