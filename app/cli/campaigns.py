"""``flask campaigns``: list, show and run campaigns (ids and aggregates only)."""

from __future__ import annotations

import json

import click
from sqlalchemy import select

from app.campaigns.models import Campaign, CampaignRun
from app.campaigns.reports import campaign_report, run_progress
from app.campaigns.run import execute_run, start_run
from app.campaigns.service import get_campaign
from app.cli import domain_errors, fail
from app.extensions import db

REPORT_LINES = (
    "candidates",
    "eligible",
    "deferred",
    "denied",
    "holdout",
    "sent",
    "delivered",
    "bounced",
    "failed",
    "waiting",
    "held",
)


@click.group("campaigns", help="Campaigns: list, show results, run now.")
def group() -> None:
    """Command group for campaigns."""


@group.command("list")
@click.option("--status", help="Only campaigns in this state.")
def list_command(status: str | None) -> None:
    """One line per campaign: id, state, purpose, channel, schedule, name."""
    query = select(Campaign).order_by(Campaign.id)
    if status:
        query = query.where(Campaign.status == status)
    rows = db.session.scalars(query).all()
    if not rows:
        click.echo("No campaigns.")
    for c in rows:
        click.echo(
            f"#{c.id:<5} {c.status:10} {c.purpose:16} {c.channel:6} {c.schedule_kind:10} {c.name}"
        )


@group.command("show")
@click.argument("campaign_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@domain_errors
def show_command(campaign_id: int, as_json: bool) -> None:
    """The campaign's settings, its runs' progress and its report (aggregates only)."""
    campaign = get_campaign(db.session(), campaign_id)
    report = campaign_report(db.session(), campaign)
    runs = db.session.scalars(
        select(CampaignRun.id)
        .where(CampaignRun.campaign_id == campaign_id)
        .order_by(CampaignRun.id)
    ).all()
    report["progress"] = [run_progress(db.session(), run_id) for run_id in runs]
    if as_json:
        click.echo(json.dumps(report, indent=2, sort_keys=True))
        return
    click.echo(f"Campaign #{campaign.id} {campaign.name!r}: {campaign.status}, v{campaign.version}")
    click.echo(
        f"  purpose {campaign.purpose}, channel {campaign.channel}, "
        f"schedule {campaign.schedule_kind}, holdout {campaign.holdout_percent}%"
    )
    for key in REPORT_LINES:
        click.echo(f"  {key:10} {report[key]:>10,}")
    for rule, count in report["denied_by_rule"].items():
        click.echo(f"  denied by {rule}: {count:,}")
    for variant, numbers in report["variants"].items():
        click.echo(
            f"  variant {variant}: assigned {numbers['assigned']:,}, sent {numbers['sent']:,}"
        )
    for progress in report["progress"]:
        settled = f"{progress['percent_settled']}% of {progress['messages']:,} messages settled"
        click.echo(f"  run #{progress['run_id']}: {progress['status']}, {settled}")


@group.command("run-now")
@click.argument("campaign_id", type=int)
@click.option("--actor", default="cli", show_default=True, help="Recorded in the audit trail.")
@domain_errors
def run_now_command(campaign_id: int, actor: str) -> None:
    """Run a scheduled campaign now (or finish an interrupted run of it)."""
    campaign = get_campaign(db.session(), campaign_id)
    interrupted = db.session.scalar(
        select(CampaignRun.id).where(
            CampaignRun.campaign_id == campaign.id, CampaignRun.status == "resolving"
        )
    )
    if interrupted is not None:
        run = execute_run(db.session(), interrupted)
    elif campaign.status not in ("scheduled", "running"):
        fail(f"Campaign #{campaign_id} is {campaign.status}; schedule it first.", 2)
        return
    else:
        run = start_run(db.session(), campaign.id, actor=actor)
    click.echo(
        f"Run #{run.id}: {run.candidates:,} candidates, {run.allowed:,} allowed, "
        f"{run.deferred:,} deferred, {run.denied:,} denied, {run.holdout:,} held out"
    )
