"""Metrics read from the database at each scrape: the same answer from every process.

Decisions by outcome and rule, outbox entries by state and channel, the outbox's due depth and
the age of its oldest due entry, the ledger's size and its last verification, and the backlog
of each registered webhook outbox. Each read uses an index (the decisions' run/outcome/rule
index, the outbox's status/not-before index); the whole scrape is a handful of queries.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from app.campaigns.models import CampaignDecision
from app.ledger.models import LedgerHead, LedgerVerification
from app.models_base import utcnow
from app.observability.metrics import BacklogSource
from app.outbox.models import OutboxEntry

log = logging.getLogger("assenso.metrics")

#: Outbox states of an entry that is still to be handed to a relay.
WAITING = ("pending", "leased")


class DatabaseState(Collector):
    """A collector reading the database's state when Prometheus scrapes."""

    def __init__(self, engine: Engine, backlogs: Mapping[str, BacklogSource]) -> None:
        """Read through ``engine``; ``backlogs`` are the webhook outboxes to report."""
        self.engine = engine
        self.backlogs = backlogs

    def collect(self) -> Iterator[Metric]:
        """``assenso_database_up`` and, when the database answers, everything it holds."""
        up = GaugeMetricFamily("assenso_database_up", "1 when the database answered this scrape.")
        try:
            with Session(bind=self.engine) as session:
                families = list(self._read(session))
        except SQLAlchemyError as exc:
            log.warning("metrics: the database did not answer (%s)", type(exc).__name__)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from families

    def _read(self, session: Session) -> Iterator[Metric]:
        yield decisions(session)
        yield from outbox(session)
        yield from ledger(session)
        yield webhook_backlog(session, self.backlogs)


def decisions(session: Session) -> Metric:
    """Recorded campaign decisions by outcome (allow, deny, defer) and rule."""
    family = GaugeMetricFamily(
        "assenso_decisions",
        "Campaign decisions recorded, by outcome (allow, deny, defer) and the rule that decided.",
        labels=["outcome", "rule"],
    )
    rows = session.execute(
        select(CampaignDecision.outcome, CampaignDecision.rule_id, func.count()).group_by(
            CampaignDecision.outcome, CampaignDecision.rule_id
        )
    )
    for outcome, rule, count in rows:
        family.add_metric([outcome, rule], count)
    return family


def outbox(session: Session) -> Iterator[Metric]:
    """Messages by state and channel; the due depth and the age of the oldest due entry."""
    states = GaugeMetricFamily(
        "assenso_messages",
        "Outbox entries (intended messages) by state and channel.",
        labels=["state", "channel"],
    )
    rows = session.execute(
        select(OutboxEntry.status, OutboxEntry.channel, func.count()).group_by(
            OutboxEntry.status, OutboxEntry.channel
        )
    )
    for state, channel, count in rows:
        states.add_metric([state, channel], count)
    yield states
    now = utcnow()
    depth, oldest = session.execute(
        select(func.count(), func.min(OutboxEntry.not_before)).where(
            OutboxEntry.status.in_(WAITING), OutboxEntry.not_before <= now
        )
    ).one()
    yield GaugeMetricFamily(
        "assenso_outbox_depth",
        "Outbox entries due now and not yet handed to a relay (pending or leased).",
        value=depth,
    )
    age = 0.0 if oldest is None else max(0.0, (now - _aware(oldest)).total_seconds())
    yield GaugeMetricFamily(
        "assenso_outbox_oldest_age_seconds",
        "How long the oldest due outbox entry has been due (0 when none is).",
        value=age,
    )


def ledger(session: Session) -> Iterator[Metric]:
    """The ledger's size and the result and time of its last finished verification."""
    size = session.scalar(select(func.max(LedgerHead.size))) or 0
    yield GaugeMetricFamily("assenso_ledger_entries", "Entries in the consent ledger.", value=size)
    last = session.execute(
        select(LedgerVerification.ok, LedgerVerification.finished_at)
        .where(LedgerVerification.finished_at.is_not(None))
        .order_by(LedgerVerification.id.desc())
        .limit(1)
    ).first()
    result = GaugeMetricFamily(
        "assenso_ledger_last_verification_ok",
        "1 when the last ledger verification found every entry and checkpoint sound, 0 when it "
        "did not (no sample before the first verification).",
    )
    finished = GaugeMetricFamily(
        "assenso_ledger_last_verification_timestamp_seconds",
        "When the last ledger verification finished (Unix time).",
    )
    if last is not None:
        result.add_metric([], 1 if last.ok else 0)
        finished.add_metric([], _aware(last.finished_at).timestamp())
    yield result
    yield finished


def webhook_backlog(session: Session, backlogs: Mapping[str, BacklogSource]) -> Metric:
    """Deliveries waiting in each registered webhook outbox (no sample while none exists)."""
    family = GaugeMetricFamily(
        "assenso_webhook_backlog",
        "Webhook messages waiting to be delivered, by source (registered webhook outboxes).",
        labels=["source"],
    )
    for name, waiting in sorted(backlogs.items()):
        family.add_metric([name], waiting(session))
    return family


def _aware(moment: datetime) -> datetime:
    """``moment`` as an aware UTC datetime (SQLite hands back naive ones)."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
