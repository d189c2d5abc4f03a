"""Campaign tables: campaigns, their templates, runs, per-candidate decisions and audit trail."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    Unicode,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import Model, db
from app.models_base import UTCDateTime, utcnow

CAMPAIGN_STATES = ("draft", "scheduled", "running", "paused", "completed", "cancelled")
SCHEDULE_KINDS = ("now", "at", "local_time", "cron")

BigId = BigInteger().with_variant(Integer, "sqlite")


class Campaign(Model):
    """A campaign: purpose, channel, audience, templates, schedule and limits."""

    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    purpose: Mapped[str] = mapped_column(String(40))
    channel: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="draft", index=True)
    segment_json: Mapped[str] = mapped_column(Text, default="{}")
    schedule_kind: Mapped[str] = mapped_column(String(16), default="now")
    scheduled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    local_time: Mapped[str | None] = mapped_column(String(5))
    cron: Mapped[str | None] = mapped_column(String(120))
    cron_timezone: Mapped[str | None] = mapped_column(String(64))
    throttle_per_minute: Mapped[int | None] = mapped_column(Integer)
    holdout_percent: Mapped[int] = mapped_column(Integer, default=0)
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)


class CampaignTemplate(Model):
    """The message of one variant in one language (Jinja2, rendered in a sandbox)."""

    __tablename__ = "campaign_templates"
    __table_args__ = (UniqueConstraint("campaign_id", "variant", "language"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), index=True
    )
    variant: Mapped[str] = mapped_column(String(8), default="A")
    weight: Mapped[int] = mapped_column(Integer, default=100)
    language: Mapped[str] = mapped_column(String(8), default="en")
    subject: Mapped[str] = mapped_column(String(300), default="")
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str | None] = mapped_column(Text)


class CampaignRun(Model):
    """One execution of a campaign: its audience decisions and counts."""

    __tablename__ = "campaign_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), index=True
    )
    scheduled_for: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(16), default="pending")
    policy_hash: Mapped[str | None] = mapped_column(String(64))
    candidates: Mapped[int] = mapped_column(Integer, default=0)
    allowed: Mapped[int] = mapped_column(Integer, default=0)
    denied: Mapped[int] = mapped_column(Integer, default=0)
    deferred: Mapped[int] = mapped_column(Integer, default=0)
    holdout: Mapped[int] = mapped_column(Integer, default=0)
    counts_json: Mapped[str] = mapped_column(Text, default="{}")


class CampaignDecision(Model):
    """The recorded decision for one candidate of one run (allow, deny with rule, defer)."""

    __tablename__ = "campaign_decisions"
    __table_args__ = (
        UniqueConstraint("run_id", "customer_id"),
        Index("ix_campaign_decisions_run_outcome", "run_id", "outcome", "rule_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("campaign_runs.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    outcome: Mapped[str] = mapped_column(String(8))
    rule_id: Mapped[str] = mapped_column(String(40))
    defer_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    variant: Mapped[str | None] = mapped_column(String(8))
    holdout: Mapped[bool] = mapped_column(Boolean, default=False)
    policy_hash: Mapped[str] = mapped_column(String(64))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class CampaignAudit(Model):
    """Who did what to a campaign, and when."""

    __tablename__ = "campaign_audit"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    actor: Mapped[str] = mapped_column(String(120))
    action: Mapped[str] = mapped_column(String(40))
    detail: Mapped[str | None] = mapped_column(Text)


class SchedulerLock(Model):
    """The lock row that keeps one scheduler active on SQLite (PostgreSQL uses an advisory lock)."""

    __tablename__ = "scheduler_locks"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    holder: Mapped[str] = mapped_column(String(120))
    heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


#: APScheduler 3's job store table, column for column as its ``SQLAlchemyJobStore`` defines it.
#: A migration creates it (the application's database role may not create tables) and the
#: scheduler never does; it is declared here only so the schema check knows it.
SCHEDULER_JOBS = Table(
    "apscheduler_jobs",
    db.metadata,
    Column("id", Unicode(191), primary_key=True),
    Column("next_run_time", Float(25), index=True),
    Column("job_state", LargeBinary, nullable=False),
)
