"""The SMTP sender against a real local server: abandoning a staged message, replies."""

from __future__ import annotations

import time

import pytest

from app.channels.errors import TransientFailure
from app.channels.smtp import SmtpSender, SmtpSettings
from tests.integration.test_delivery_helpers import Sink

MESSAGE = b"From: a@shop.example\r\nTo: r@example.org\r\nSubject: x\r\n\r\nbody\r\n"


def _sender(sink: Sink) -> SmtpSender:
    return SmtpSender(SmtpSettings("127.0.0.1", sink.port, timeout=5.0), "a@shop.example")


@pytest.mark.parametrize("how", ["abort", "close"])
def test_a_staged_message_is_dropped_at_once_and_never_delivered(how):
    # Inside DATA a QUIT is one more line of the message: the server would wait for the rest.
    with Sink() as sink:
        sender = _sender(sink)
        sender.stage("r@example.org", MESSAGE)
        started = time.monotonic()
        getattr(sender, how)()
        assert time.monotonic() - started < 1.0
        sender.stage("s@example.org", MESSAGE)  # a new connection opens on the next message
        sender.commit()
        sender.close()
        time.sleep(0.2)
    assert [recipient for _, recipient in sink.arrivals] == ["s@example.org"]


def test_no_reply_to_the_dot_is_a_transient_failure():
    with Sink(cut=1) as sink:
        sender = _sender(sink)
        sender.stage("r@example.org", MESSAGE)
        sender.send_dot()
        with pytest.raises(TransientFailure, match="before the relay accepted"):
            sender.confirm()
        sender.close()
    assert sink.messages == []
