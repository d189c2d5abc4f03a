"""The development mailbox: what the SMTP server stored is listed and readable by staff."""

from __future__ import annotations

import smtplib

from app.channels.devmailbox import MailboxStore, start_mailbox_server
from tests.integration.test_delivery_helpers import free_port

MESSAGE = (
    b"From: a@shop.example\r\nTo: b@example.org\r\nSubject: Hello\r\n"
    b"Message-ID: <1@shop.example>\r\n"
    b"List-Unsubscribe: <https://shop.example/u/TOKEN>, <mailto:unsubscribe+TOKEN@shop.example>\r\n"
    b"\r\nBody text\r\n"
)


def test_mailbox_is_404_when_off(app_factory, tmp_path, create_staff, login):
    app = app_factory(DEV_MAILBOX=False, DEV_MAILBOX_DIR=str(tmp_path))
    with app.app_context():
        client = app.test_client()
        staff = create_staff("admin")
        from tests.helpers import sign_in

        sign_in(client, staff.email, "correct horse battery staple")
        assert client.get("/dev/mailbox/").status_code == 404


def test_staff_read_what_the_smtp_server_stored(app_factory, tmp_path, create_staff):
    app = app_factory(DEV_MAILBOX=True, DEV_MAILBOX_DIR=str(tmp_path / "box"))
    port = free_port()
    controller = start_mailbox_server(MailboxStore(tmp_path / "box"), "127.0.0.1", port)
    try:
        with smtplib.SMTP("127.0.0.1", port) as smtp:
            smtp.sendmail("a@shop.example", ["b@example.org"], MESSAGE)
    finally:
        controller.stop()
    with app.app_context():
        client = app.test_client()
        assert client.get("/dev/mailbox/").status_code == 302  # sign-in needed
        from tests.helpers import sign_in

        marketer = create_staff("marketer")
        sign_in(client, marketer.email, "correct horse battery staple")
        assert client.get("/dev/mailbox/").status_code == 403  # marketers see no one's mail
        client.post("/logout", data={"csrf_token": _token(client)})
        staff = create_staff("admin")
        sign_in(client, staff.email, "correct horse battery staple")
        listing = client.get("/dev/mailbox/").get_data(as_text=True)
        assert "Hello" in listing
        name = MailboxStore(tmp_path / "box").names()[0]
        page = client.get(f"/dev/mailbox/{name}").get_data(as_text=True)
        assert "Body text" in page and 'href="https://shop.example/u/TOKEN"' in page
        assert client.get("/dev/mailbox/../../etc").status_code == 404


def _token(client) -> str:
    from tests.helpers import CSRF_RE

    match = CSRF_RE.search(client.get("/account/password").get_data(as_text=True))
    return match.group(1) or match.group(2)
