"""Structured logs: a request or job id on every line, no e-mail address, quiet libraries."""

from __future__ import annotations

import json
import logging
import smtplib

import pytest

from app import logs
from app.channels.devmailbox import MailboxStore, start_mailbox_server
from tests.integration.test_delivery_helpers import free_port

ADDRESS = "ann.rossi+news@example.com"


@pytest.fixture
def json_lines(capsys):
    """Configure JSON logs; a function returning the lines written since, parsed."""
    logs.configure("json")

    def lines() -> list[dict]:
        return [json.loads(line) for line in capsys.readouterr().err.splitlines() if line]

    return lines


def test_each_line_is_json_with_the_request_id(json_lines):
    request_id = logs.start_request()
    try:
        logging.getLogger("assenso.test").info("answered %s", 200, extra={"status": 200})
    finally:
        logs.end_request()
    (line,) = json_lines()
    assert line["request_id"] == request_id and "job_id" not in line
    assert line["event"] == "answered 200" and line["status"] == 200
    assert line["level"] == "info" and line["logger"] == "assenso.test"


def test_a_job_names_its_lines_and_others_name_the_process(json_lines):
    with logs.job("sign_checkpoint") as job_id:
        logging.getLogger("assenso.test").warning("inside")
    logging.getLogger("assenso.test").warning("outside")
    inside, outside = json_lines()
    assert inside["job_id"] == job_id and job_id.startswith("sign_checkpoint:")
    assert outside["job_id"] == logs.process_job_id()


def test_addresses_are_masked_in_messages_values_and_exceptions(json_lines):
    log = logging.getLogger("assenso.test")
    log.warning("sending to %s", ADDRESS, extra={"recipient": f"Ann <{ADDRESS}>"})
    try:
        raise ValueError(f"refused {ADDRESS}")
    except ValueError:
        log.exception("failed")
    first, second = json_lines()
    assert ADDRESS not in json.dumps([first, second])
    assert first["event"] == f"sending to {logs.MASK}"
    assert first["recipient"] == f"Ann <{logs.MASK}>"
    assert f"refused {logs.MASK}" in second["exception"]


def test_configuring_twice_writes_each_line_once(json_lines):
    logs.configure("json")
    logging.getLogger("assenso.test").warning("once")
    assert [line["event"] for line in json_lines()] == ["once"]


def test_the_development_mailbox_does_not_log_recipients(json_lines, tmp_path, caplog):
    caplog.set_level(logging.DEBUG, logger="assenso")  # our own loggers only
    port = free_port()
    controller = start_mailbox_server(MailboxStore(tmp_path / "box"), "127.0.0.1", port)
    try:
        with smtplib.SMTP("127.0.0.1", port) as smtp:
            message = f"From: shop@shop.example\r\nTo: {ADDRESS}\r\nSubject: Hi\r\n\r\nHello\r\n"
            smtp.sendmail("shop@shop.example", [ADDRESS], message)
    finally:
        controller.stop()
    written = json.dumps(json_lines()) + caplog.text
    assert "ann.rossi" not in written
