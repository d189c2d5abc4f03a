"""``flask ledger``: verify, checkpoint, rebuild the state projection, print receipts."""

from __future__ import annotations

import json
import time

import click

from app.cli import domain_errors, fail
from app.extensions import db
from app.ledger import proofs, state, verify


@click.group("ledger", help="Consent ledger: verification, checkpoints, receipts.")
def group() -> None:
    """Command group for the consent ledger."""


@group.command("verify")
@click.option("--quiet", is_flag=True, help="Print only the outcome.")
def verify_command(quiet: bool) -> None:
    """Recompute every leaf and check every checkpoint; exit 1 naming the first bad entry."""
    started = time.perf_counter()

    def progress(done: int, total: int) -> None:
        if not quiet:
            click.echo(f"  checked {done:,} of {total:,} events", err=True)

    result = verify.verify_ledger(db.session(), progress)
    verify.record_verification(db.session(), result, actor="cli")
    elapsed = time.perf_counter() - started
    if result.ok:
        click.echo(
            f"OK: {result.checked:,} events and {result.checkpoints} checkpoints verified "
            f"in {elapsed:.1f} s"
        )
        return
    for problem in result.problems:
        click.echo(f"FAIL: {problem}", err=True)
    if result.first_bad_seq is not None:
        click.echo(f"First bad entry: seq {result.first_bad_seq}", err=True)
    raise SystemExit(1)


@group.command("checkpoint")
def checkpoint_command() -> None:
    """Sign a checkpoint of the current tree head now."""
    row = proofs.make_checkpoint(db.session())
    if row is None:  # only when asked to skip an unchanged tree, which this command never does
        fail("No checkpoint was signed.")
    click.echo(f"Checkpoint #{row.id}: size {row.tree_size}, root {row.root_hash.hex()}")


@group.command("rebuild-state")
@click.option("--check-only", is_flag=True, help="Report differences without repairing them.")
def rebuild_state(check_only: bool) -> None:
    """Recompute the consent state from the ledger and report any difference."""
    report = state.rebuild_state(db.session(), fix=not check_only)
    click.echo(f"Replayed {report.events:,} events into {report.rows:,} state rows.")
    for line in report.differences:
        click.echo(f"  differs: {line}")
    if report.differences:
        verb = "found" if check_only else "repaired"
        click.echo(f"{len(report.differences)} differences {verb}.")
        if check_only:
            raise SystemExit(1)
    else:
        click.echo("The stored state matches the ledger.")


@group.command("receipt")
@click.argument("record_id")
@domain_errors
def receipt(record_id: str) -> None:
    """Print the consent receipt (JSON) of one record."""
    click.echo(json.dumps(proofs.receipt_for(db.session(), record_id), indent=2))


@group.command("public-key")
def public_key() -> None:
    """Print the checkpoint-signing public key (PEM) for offline receipt verification."""
    info = proofs.public_checkpoint(db.session())
    if not info["public_key_pem"]:
        fail("no signing key configured")
    click.echo(info["public_key_pem"], nl=False)
