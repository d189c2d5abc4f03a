"""The production process set on PostgreSQL: what an operator starts, used as people use it.

The Procfile's commands (gunicorn with two workers, one scheduler, two delivery workers) run
in production mode as the application's own role, every secret given as a file. A customer
signs up and confirms through the link in the e-mail, a marketer runs a campaign, the customer
withdraws with one click; the SMTP relay gets exactly the expected messages. Then everything
is stopped with SIGTERM while a campaign is being delivered to a slow relay: every process
exits within 10 s, and no message is lost or sent twice.
"""

from __future__ import annotations

import asyncio
import json
import re
from email import message_from_bytes
from email.message import Message

import pytest
from sqlalchemy import create_engine, select, text

from app import create_app
from app.extensions import db
from app.ledger.notices import publish_notice
from app.models_base import utcnow
from app.outbox.models import OutboxEntry
from tests.integration.test_delivery_helpers import Sink, audience
from tests.ops.stack import (
    PG_URL,
    STOP_BOUND_SECONDS,
    Browser,
    Databases,
    Settings,
    Stack,
    wait_until,
)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(240),
    pytest.mark.skipif(not PG_URL, reason="the production stack runs on PostgreSQL"),
]
PASSWORD = "a long and unguessable passphrase"
MARKETER = "marketer@shop.example"
CUSTOMER = "ann@example.com"
CROWD = 60


class SlowRelay(Sink):
    """The recording relay, answering each message after ``delay`` seconds (in parallel)."""

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.messages.append(envelope.original_content or envelope.content)
        await asyncio.sleep(self.delay)
        return "250 OK"

    def parsed(self) -> list[Message]:
        """Every accepted message, parsed."""
        with self.lock:
            return [message_from_bytes(raw) for raw in self.messages]

    def to(self, suffix: str) -> list[Message]:
        """The messages whose recipient ends with ``suffix``."""
        return [m for m in self.parsed() if m["To"] and m["To"].strip("<>").endswith(suffix)]


@pytest.fixture
def databases():
    """Fresh databases and role for this test; dropped afterwards."""
    names = Databases.named("stack")
    names.create()
    yield names
    names.drop()


def _body(message: Message) -> str:
    part = message.get_body(("plain",)) if hasattr(message, "get_body") else message
    payload = (part or message).get_payload(decode=True)
    return payload.decode() if isinstance(payload, bytes) else str(message.get_payload())


def _publish_offers_notice(settings: Settings) -> None:
    """The compliance team's notice for offers (there is no command for it yet)."""
    app = create_app("testing", **settings.app_overrides())
    with app.app_context():
        publish_notice(
            db.session, purpose="offers", language="en", title="Offers",
            text="We send offers.", effective_at=utcnow(),
        )  # fmt: skip
        db.session.remove()
        for engine in db.engines.values():
            engine.dispose()


def _crowd(settings: Settings, count: int) -> None:
    """``count`` customers who consented to offers by e-mail (a bulk import)."""
    app = create_app("testing", **settings.app_overrides())
    with app.app_context():
        audience(db.session(), count)
        db.session.remove()
        for engine in db.engines.values():
            engine.dispose()


def _campaign(marketer: Browser, name: str) -> int:
    """Create an offers e-mail campaign sent now, and schedule it; returns its id."""
    form = {
        "name": name, "purpose": "offers", "channel": "email", "segment": "",
        "schedule_kind": "now", "moment": "", "scheduled_at": "", "timezone": "UTC",
        "local_time": "", "cron": "", "holdout_percent": "0", "throttle_per_minute": "",
        "subject_a": name, "weight_a": "100",
        "body_text_a": "Our picks for you. {{ unsubscribe_url }}",
        "body_html_a": "", "subject_b": "", "body_text_b": "", "body_html_b": "",
        "weight_b": "100", "save": "Save draft",
    }  # fmt: skip
    status, headers, body = marketer.form("/marketing/campaigns/new", form)
    assert status == 302, body[:2000]
    campaign_id = int(re.search(r"/campaigns/(\d+)", headers["Location"]).group(1))
    page = f"/marketing/campaigns/{campaign_id}"
    status, _, _ = marketer.form(f"{page}/schedule", {"version": "1"}, page=page)
    assert status == 302
    return campaign_id


def _campaign_status(settings: Settings, campaign_id: int) -> str:
    engine = create_engine(settings.databases.owner_url)
    try:
        with engine.connect() as connection:
            return connection.scalar(
                text("SELECT status FROM campaigns WHERE id = :id"), {"id": campaign_id}
            )
    finally:
        engine.dispose()


def _outbox(settings: Settings, campaign_id: int) -> list[tuple[str, str | None]]:
    engine = create_engine(settings.databases.owner_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                select(OutboxEntry.status, OutboxEntry.message_id).where(
                    OutboxEntry.campaign_id == campaign_id
                )
            )
            return [tuple(row) for row in rows]
    finally:
        engine.dispose()


def _sign_up_and_confirm(settings: Settings, relay: SlowRelay) -> Browser:
    customer = Browser(settings.base_url)
    status, _, page = customer.request("/signup")
    assert status == 200
    notice = re.search(r'name="notice-offers"[^>]*value="(\d+)"', page).group(1)
    status, headers, body = customer.form(
        "/signup",
        {
            "email": CUSTOMER, "password": PASSWORD, "confirm": PASSWORD, "language": "en",
            "timezone": "Europe/Rome", "age_confirmed": "y", "first_name": "Ann",
            "consent": ["offers:email"], "notice-offers": notice,
        },
    )  # fmt: skip
    assert status == 302 and headers["Location"].endswith("/login"), body[:2000]
    (confirmation,) = wait_until(lambda: relay.to(CUSTOMER), 30) or [None]
    assert confirmation is not None, "no confirmation e-mail"
    link = re.search(r"http://127\.0\.0\.1:\d+/consent/confirm/\S+", _body(confirmation)).group(0)
    status, _, body = customer.form(link, {})
    assert status == 200, body[:2000]
    return customer


def test_the_procfile_processes_serve_deliver_and_stop_cleanly(databases, tmp_path):
    with SlowRelay() as relay:
        settings = Settings(
            tmp_path, databases, relay.port,
            extra={"ASSENSO_WORKER_BATCH_SIZE": "10", "ASSENSO_WORKER_LEASE_SECONDS": "15"},
        )  # fmt: skip
        settings.as_owner("db", "upgrade")
        settings.as_owner("db", "grant-app-role")
        settings.as_owner("users", "create", "--email", MARKETER, "--role", "marketer",
                          "--password", PASSWORD)  # fmt: skip
        _publish_offers_notice(settings)
        stack = Stack(settings)
        try:
            for kind in ("web", "scheduler", "worker", "worker"):
                stack.start(kind)
            visitor = Browser(settings.base_url)
            assert wait_until(lambda: _answers(visitor), 60), stack.logs()

            customer = _sign_up_and_confirm(settings, relay)
            marketer = Browser(settings.base_url)
            status, _, _ = marketer.form("/staff/login", {"email": MARKETER, "password": PASSWORD})
            assert status == 302
            first = _campaign(marketer, "Autumn picks")
            offer = wait_until(
                lambda: [m for m in relay.to(CUSTOMER) if m["Subject"] == "Autumn picks"], 60
            )
            assert offer, stack.logs()
            (unsubscribe,) = re.findall(r"<(http[^>]+)>", offer[0]["List-Unsubscribe"])
            status, _, _ = customer.request(unsubscribe, {"List-Unsubscribe": "One-Click"})
            assert status == 200
            assert wait_until(lambda: _campaign_status(settings, first) == "completed", 30)

            second = _campaign(marketer, "Winter picks")
            assert wait_until(lambda: _campaign_status(settings, second) == "completed", 60), (
                stack.logs()
            )
            assert [m["Subject"] for m in relay.to(CUSTOMER)] == [
                relay.to(CUSTOMER)[0]["Subject"],
                "Autumn picks",
            ]  # the confirmation, the first campaign; nothing after the withdrawal
            assert [status for status, _ in _outbox(settings, second)] in ([], ["denied"])

            _operator_sees_one_machine(settings, stack)

            _crowd(settings, CROWD)
            relay.delay = 1.0
            third = _campaign(marketer, "Spring picks")
            assert wait_until(lambda: len(relay.to("@example.org")) >= 3, 60), stack.logs()
            took = stack.terminate()
            print(f"stopped while delivering, in seconds: {took}")
            assert max(took.values()) < STOP_BOUND_SECONDS, (took, stack.logs())
            _no_message_lost_or_doubled(settings, relay, third, finished=False)

            relay.delay = 0.0
            drain = stack.start("worker")
            assert wait_until(
                lambda: len(relay.to("@example.org")) >= CROWD
                and all(s != "pending" for s, _ in _outbox(settings, third)), 60
            ), stack.logs()  # fmt: skip
            assert max(stack.terminate([drain]).values()) < STOP_BOUND_SECONDS
            _no_message_lost_or_doubled(settings, relay, third, finished=True)
            _logs_are_json_with_ids_and_no_personal_data(stack)
        finally:
            stack.close()


def _metric(exposition: str, line_start: str) -> float:
    (value,) = [
        line.rsplit(" ", 1)[1] for line in exposition.splitlines() if line.startswith(line_start)
    ]
    return float(value)


def _operator_sees_one_machine(settings: Settings, stack: Stack) -> None:
    """Readiness and metrics: every gunicorn worker reports the counters of all of them."""
    operator = Browser(settings.base_url)
    status, _, body = operator.request("/readyz")
    assert status == 200 and json.loads(body)["status"] == "ready", body
    intruder = Browser(settings.base_url)
    for _ in range(4):
        status, _, _ = intruder.form("/login", {"email": CUSTOMER, "password": "not it"})
        assert status == 200
    failures = set()
    for _ in range(8):  # the scrapes land on either worker
        status, _, body = operator.request("/metrics")
        assert status == 200, body[:500]
        failures.add(
            _metric(body, 'assenso_sign_in_failures_total{audience="customer",reason="refused"}')
        )
    assert failures == {4.0}, (failures, stack.logs())
    assert _metric(body, 'assenso_messages{channel="email",state="sent"}') >= 1
    assert _metric(body, "assenso_outbox_depth") == 0
    assert _metric(body, "assenso_ledger_entries") >= 2


def _logs_are_json_with_ids_and_no_personal_data(stack: Stack) -> None:
    """Every process logged JSON lines, each with a request or job id, and no customer's
    address or name appears anywhere in what they wrote."""
    for process in stack.processes:
        output = process.output()
        for line in output.splitlines():
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError:
                raise AssertionError(f"{process.log.name}: not JSON: {line}") from None
            assert "request_id" in record or "job_id" in record, (process.log.name, line)
        for value in (CUSTOMER, "ann@", "@example.org", "Ann"):
            assert value not in output, (process.log.name, value, output[-3000:])


def _answers(browser: Browser) -> bool:
    try:
        return browser.request("/signup")[0] == 200
    except OSError:
        return False


def _no_message_lost_or_doubled(settings, relay, campaign_id, *, finished: bool) -> None:
    """The relay holds one message per entry recorded sent, none other, none twice."""
    entries = _outbox(settings, campaign_id)
    received = [m["Message-ID"] for m in relay.to("@example.org")]
    assert len(received) == len(set(received)), "a message reached the relay twice"
    sent = {message_id for status, message_id in entries if status == "sent"}
    assert set(received) == sent, "the relay and the outbox disagree"
    assert {status for status, _ in entries} <= ({"sent"} if finished else {"sent", "pending"})
    if finished:
        assert len(entries) == CROWD and len(sent) == CROWD
