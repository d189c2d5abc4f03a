"""``flask policy``: check, reload (recorded), list and explain the contact policies."""

from __future__ import annotations

from datetime import UTC, datetime

import click
from flask import current_app

from app.cli import fail
from app.extensions import db
from app.policy import Intent, PolicyError, check_policies, explain, load_policies
from app.policy.facts_db import FactsError, load_facts
from app.policy.revisions import record_policy_load
from app.services import replace_policies, runtime


@click.group("policy", help="Contact policies: validate, reload, list and explain decisions.")
def group() -> None:
    """Command group for the policy engine."""


@group.command("check")
@click.argument("paths", nargs=-1, type=click.Path())
def check(paths: tuple[str, ...]) -> None:
    """Validate policy files or directories (default: the configured policy directory).

    Prints each problem as ``file: location: problem``; exits 1 when any is found.
    """
    targets = paths or (current_app.config["POLICY_DIR"],)
    problems = check_policies(targets)
    for problem in problems:
        click.echo(problem, err=True)
    if problems:
        raise SystemExit(1)
    click.echo(f"OK: {', '.join(targets)}")


@group.command("reload")
@click.option("--reason", default=None, help="Why the policies are reloaded (recorded).")
@click.option("--actor", default="cli", show_default=True, help="Who reloads (recorded).")
def reload(reason: str | None, actor: str) -> None:
    """Validate the policy directory, record changed files and swap the set in.

    An invalid directory is refused and the policies in use stay active.
    """
    directory = current_app.config["POLICY_DIR"]
    try:
        policy_set = load_policies(directory)
    except PolicyError as exc:
        for problem in exc.problems:
            click.echo(problem, err=True)
        fail("policies not reloaded; the previous set stays active")
    revisions = record_policy_load(db.session, policy_set, actor, reason)
    replace_policies(current_app, policy_set)
    for revision in revisions:
        before = revision.previous_sha256[:12] if revision.previous_sha256 else "new"
        click.echo(f"recorded {revision.filename}: {before} -> {revision.sha256[:12]}")
    click.echo(f"Loaded {len(policy_set.policies)} policies ({len(revisions)} changed).")


@group.command("list")
def list_policies() -> None:
    """The active policy files, their versions and SHA-256 hashes."""
    policy_set = runtime().policies
    for policy in policy_set.policies:
        default = " (default)" if policy is policy_set.default else ""
        click.echo(f"{policy.sha256}  {policy.path}  {policy.policy_id} {policy.version}{default}")


def _instant(text: str | None) -> datetime:
    if text is None:
        return datetime.now(UTC)
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        fail(f"--at is not an ISO 8601 time: {text!r}")
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at


def _fields(text: str | None) -> frozenset[str]:
    return frozenset(f.strip() for f in (text or "").split(",") if f.strip())


@group.command("explain")
@click.option("--customer", "customer_id", required=True, type=int, help="Customer id.")
@click.option("--purpose", required=True)
@click.option("--channel", required=True)
@click.option("--at", "at_text", default=None, help="ISO 8601 time (default now; naive = UTC).")
@click.option("--fields", default=None, help="Template fields, comma-separated.")
@click.option("--transactional", is_flag=True, help="A service message.")
def explain_decision(
    customer_id: int,
    purpose: str,
    channel: str,
    at_text: str | None,
    fields: str | None,
    transactional: bool,
) -> None:
    """Print the decision for one customer and intent, rule by rule."""
    intent = Intent(purpose, channel, _instant(at_text), _fields(fields), transactional)
    try:
        facts = load_facts(db.session, [customer_id], at=intent.at).get(customer_id)
    except FactsError as exc:
        fail(f"customer {customer_id}: {exc}")
    if facts is None:
        fail(f"customer {customer_id} is unknown or erased")
    decision = explain(runtime().policies, facts, intent)
    click.echo(f"intent: {purpose} by {channel} at {intent.at.isoformat()}")
    for result in decision.trace:
        click.echo(f"  {result.status:<8} {result.rule_id:<22} {result.message}")
    until = f" until {decision.defer_until.isoformat()}" if decision.defer_until else ""
    click.echo(f"decision: {decision.outcome}{until} ({decision.rule_id})")
    click.echo(f"  {decision.explanation}")
    click.echo(f"policy sha256: {decision.policy_hash}")
