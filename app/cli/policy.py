"""``flask policy``: check, load (recorded, in force for every process), list and explain."""

from __future__ import annotations

import getpass
from datetime import UTC, datetime

import click
from sqlalchemy import inspect

from app.cli import fail
from app.decisions.facts_db import FactsError, load_facts
from app.extensions import db
from app.policy import Intent, PolicyError, check_policies, explain, load_policies
from app.policy.policyset import PolicySet
from app.policy_sets.in_force import (
    policies_in_force,
    policies_on_this_machine,
    refresh_policies,
)
from app.policy_sets.models import PolicySetRevision
from app.policy_sets.revisions import ConcurrentLoad, record_policy_load, set_in_force
from app.settings import current_settings

#: Longest operator name recorded (the actor column holds 120 characters with its prefix).
MAX_ACTOR = 100


@click.group("policy", help="Contact policies: validate, load, list and explain decisions.")
def group() -> None:
    """Command group for the policy engine."""


@group.command("check")
@click.argument("paths", nargs=-1, type=click.Path())
def check(paths: tuple[str, ...]) -> None:
    """Validate policy files or directories (default: the configured policy directory).

    Prints each problem as ``file: location: problem``; exits 1 when any is found.
    """
    targets = paths or (str(current_settings().policy_dir),)
    problems = check_policies(targets)
    for problem in problems:
        click.echo(problem, err=True)
    if problems:
        raise SystemExit(1)
    click.echo(f"OK: {', '.join(targets)}")


def operator_actor(given: str | None) -> str:
    """How the operator who loads policies is recorded: ``operator:NAME``.

    ``NAME`` is ``--actor`` or, without it, the user name this command runs as.
    """
    name = given
    if name is None:
        try:
            name = getpass.getuser()
        except (OSError, KeyError):
            name = None
    name = (name or "").strip()
    if not name:
        fail("say who loads the policies: --actor NAME (recorded with the revision)")
    if len(name) > MAX_ACTOR or not name.isprintable():
        fail(f"--actor is a printable name of at most {MAX_ACTOR} characters")
    return f"operator:{name}"


def _require_tables() -> None:
    if not inspect(db.engine).has_table(PolicySetRevision.__tablename__):
        fail("the database has no policy tables yet: run `flask db upgrade` first")


@group.command("reload")
@click.option("--reason", default=None, help="Why the policies are loaded (recorded).")
@click.option(
    "--actor", default=None, help="Who loads them (recorded; default: your user name here)."
)
def reload(reason: str | None, actor: str | None) -> None:
    """Validate the policy directory and put it in force for every process (recorded).

    Every web process, scheduler and worker, on any machine, decides with it from its next
    request or batch. An invalid directory is refused and the set in force stays.
    """
    who = operator_actor(actor)
    directory = current_settings().policy_dir
    try:
        policy_set = load_policies(directory)
    except PolicyError as exc:
        for problem in exc.problems:
            click.echo(problem, err=True)
        fail("policies not loaded; the set in force stays")
    _require_tables()
    try:
        load = record_policy_load(db.session(), policy_set, who, reason)
    except ConcurrentLoad as exc:
        fail(str(exc))
    refresh_policies()
    if load.set_revision is None:
        revision = set_in_force(db.session())
        if revision is None:
            fail("No policy set is in force.")
        click.echo(f"No change: these files are already in force (set revision {revision.id}).")
        return
    for changed in load.changed:
        before = changed.previous_sha256[:12] if changed.previous_sha256 else "new"
        click.echo(f"recorded {changed.filename}: {before} -> {changed.sha256[:12]}")
    click.echo(
        f"In force for every process: set revision {load.set_revision.id}, "
        f"{len(policy_set.policies)} policies ({len(load.changed)} changed), loaded by {who}."
    )


@group.command("list")
def list_policies() -> None:
    """The set in force (from the database): its files, versions and SHA-256 hashes."""
    _require_tables()
    policy_set = refresh_policies()
    revision = set_in_force(db.session())
    if revision is None:
        fail("No policy set is in force yet: run `flask policy reload`.")
    reason = f" ({revision.reason})" if revision.reason else ""
    click.echo(
        f"In force: set revision {revision.id}, loaded {revision.loaded_at.isoformat()} "
        f"by {revision.actor}{reason}"
    )
    for policy in policy_set.policies:
        default = " (default)" if policy is policy_set.default else ""
        click.echo(f"{policy.sha256}  {policy.path}  {policy.policy_id} {policy.version}{default}")
    _report_disk(policy_set, policies_on_this_machine())


def _report_disk(in_force: PolicySet, on_disk: PolicySet) -> None:
    """Say which files in the policy directory differ from the set in force."""
    if on_disk.sha256 == in_force.sha256:
        return
    click.echo(
        f"The files in {current_settings().policy_dir} (as read at start) differ from the set "
        "in force; `flask policy reload` puts them in force:"
    )
    ids = sorted(set(in_force.by_id) | set(on_disk.by_id))
    for policy_id in ids:
        here, there = on_disk.by_id.get(policy_id), in_force.by_id.get(policy_id)
        if here is None or there is None or here.sha256 != there.sha256:
            disk = here.sha256[:12] if here else "absent"
            force = there.sha256[:12] if there else "absent"
            click.echo(f"  {policy_id}: {disk} on disk, {force} in force")


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
        facts = load_facts(db.session(), [customer_id], at=intent.at).get(customer_id)
    except FactsError as exc:
        fail(f"customer {customer_id}: {exc}")
    if facts is None:
        fail(f"customer {customer_id} is unknown or erased")
    decision = explain(policies_in_force(), facts, intent)
    click.echo(f"intent: {purpose} by {channel} at {intent.at.isoformat()}")
    for result in decision.trace:
        click.echo(f"  {result.status:<8} {result.rule_id:<22} {result.message}")
    until = f" until {decision.defer_until.isoformat()}" if decision.defer_until else ""
    click.echo(f"decision: {decision.outcome}{until} ({decision.rule_id})")
    click.echo(f"  {decision.explanation}")
    click.echo(f"policy sha256: {decision.policy_hash}")
