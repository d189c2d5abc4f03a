"""Builders shared by the delivery tests: a relaxed policy, a recording SMTP sink, audiences."""

from __future__ import annotations

import asyncio
import shutil
import socket
import threading
import time
from email.parser import BytesHeaderParser
from pathlib import Path

from sqlalchemy import insert

from app.campaigns.models import Campaign, CampaignRun, CampaignTemplate
from app.ledger import consent
from app.ledger.notices import publish_notice
from app.models_base import utcnow
from app.outbox.models import OutboxEntry
from app.transaction import transaction
from app.vault import service as vault

TEMPLATE = {
    "subject": "Hello {{ first_name }}",
    "body_text": "Dear {{ first_name }},\n{{ offer }}\n",
}


def relaxed_policies(folder: Path) -> str:
    """The shipped policies without quiet hours or weekly caps (tests run at any hour)."""
    source = Path(__file__).resolve().parents[2] / "policies"
    shutil.copytree(source, folder)
    path = folder / "eu-gdpr.yaml"
    text = path.read_text()
    start = text.index("  quiet_hours:")
    end = text.index("  # Rolling 7-day maximum")
    text = text[:start] + "  quiet_hours: []\n\n" + text[end:]
    path.write_text(text.replace("max_per_week: {email: 3, sms: 2}", "max_per_week: {}"))
    return str(folder)


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Sink:
    """A real aiosmtpd server recording what it accepts (stored before the 250, like an MTA).

    ``delay`` holds up the whole server per message (one at a time); ``reply_delay`` is a
    slow relay answering each connection's dot late, all connections at once. ``cut`` is how
    many messages (the first ones) get their connection closed after the final dot, without a
    reply and without being stored. ``arrivals`` has (monotonic time, recipient) per message.
    """

    def __init__(
        self,
        delay: float = 0.0,
        refuse: set[str] | None = None,
        reply_delay: float = 0.0,
        cut: int = 0,
    ) -> None:
        self.delay = delay
        self.reply_delay = reply_delay
        self.cut = cut
        self.refuse = refuse or set()
        self.messages: list[bytes] = []
        self.arrivals: list[tuple[float, str]] = []
        self.lock = threading.Lock()
        self.port = free_port()

    async def handle_RCPT(self, server, session, envelope, address, options):
        if address in self.refuse:
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            cut, self.cut = self.cut > 0, max(self.cut - 1, 0)
            if not cut:
                self.messages.append(envelope.original_content or envelope.content)
                self.arrivals.append((time.monotonic(), envelope.rcpt_tos[0]))
        if cut:
            server.transport.abort()
            return "451 never sent: the connection is closed"
        if self.delay:
            time.sleep(self.delay)
        if self.reply_delay:
            await asyncio.sleep(self.reply_delay)
        return "250 OK"

    def __enter__(self) -> Sink:
        from aiosmtpd.controller import Controller

        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self.controller.stop()

    def message_ids(self) -> list[str]:
        """The Message-ID of every accepted message, in arrival order."""
        parser = BytesHeaderParser()
        with self.lock:
            return [parser.parsebytes(m)["Message-ID"] for m in self.messages]


def audience(session, count: int, purpose: str = "offers", channel: str = "email") -> list:
    """``count`` customers who share first_name for ``purpose`` and consent on ``channel``."""
    notice = publish_notice(
        session,
        purpose=purpose,
        language="en",
        title="Offers",
        text="We send offers.",
        effective_at=utcnow(),
    )
    people = []
    for index in range(count):
        profile = {"first_name": f"Ann{index}"}
        if channel == "sms":
            profile["phone"] = f"+3933312{index:05d}"
        customer = vault.register_customer(
            session,
            email=f"person{index}@example.org",
            profile=profile,
            timezone="UTC",
            age_attested=30,
        )
        vault.set_sharing(session, customer, {("first_name", purpose): True})
        consent.grant(
            session,
            customer,
            purpose=purpose,
            channel=channel,
            notice=notice,
            source="import",
            method="import",
            actor="test",
            skip_double_opt_in=True,
        )
        people.append(customer)
    with transaction(session):
        for customer in people:
            customer.email_verified = True
            customer.phone_verified = True
    return people


def campaign_outbox(
    session, customer_ids, copies: int = 1, channel: str = "email", **campaign
) -> int:
    """A campaign with one template and run, and its outbox entries; returns the campaign id."""
    with transaction(session):
        row = Campaign(
            name="Spring", purpose="offers", channel=channel, created_by="test", **campaign
        )
        session.add(row)
        session.flush()
        session.add(CampaignTemplate(campaign_id=row.id, **TEMPLATE))
        run = CampaignRun(campaign_id=row.id)
        session.add(run)
        session.flush()
        entries = [
            {
                "idempotency_key": f"run:{run.id}:customer:{cid}:{channel}:{copy}",
                "campaign_id": row.id,
                "run_id": run.id,
                "customer_id": cid,
                "channel": channel,
                "purpose": "offers",
                "variant": "A",
                "payload_json": '{"offer": "20% off"}',
                "not_before": utcnow(),
            }
            for copy in range(copies)
            for cid in customer_ids
        ]
        session.execute(insert(OutboxEntry), entries)
        return row.id
