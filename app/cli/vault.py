"""``flask vault``: key rotation, re-indexing, status and consistency of the profile vault."""

from __future__ import annotations

import click
from sqlalchemy.exc import SQLAlchemyError

from app.cli import domain_errors, fail
from app.extensions import db
from app.integrations.sealing import reseal_all
from app.vault import consistency, rotation

#: Splits listed one by one by ``flask vault check`` before it only counts.
LISTED = 50


@click.group("vault", help="Profile vault: key rotation, summaries, status and consistency.")
def group() -> None:
    """Command group for the vault."""


@group.command("status")
def status() -> None:
    """Report data keys per master-key version, indexes per index-key version, and splits
    between the database and the key store."""
    report = rotation.vault_status(db.session())
    click.echo(f"active master key version: {report.active_kek_version}")
    for version, count in sorted(report.keys_per_kek_version.items()):
        marker = " (active)" if version == report.active_kek_version else " (needs rotate-kek)"
        click.echo(f"  data keys under master v{version}: {count}{marker}")
    click.echo(f"active blind-index key version: {report.active_index_version}")
    for version, count in sorted(report.indexes_per_version.items()):
        marker = " (active)" if version == report.active_index_version else " (needs reindex)"
        click.echo(f"  e-mail indexes under v{version}: {count}{marker}")
    splits = sum(1 for _ in consistency.find_splits(db.session()))
    if splits:
        click.echo(
            f"splits between the database and the key store: {splits} (run flask vault check)"
        )
    else:
        click.echo("database and key store agree: no split")


@group.command("check")
@click.option("--repair", is_flag=True, help="Finish or undo every split found.")
@domain_errors
def check(repair: bool) -> None:
    """Find customers and data keys on which the database and the key store disagree.

    Sign-ups and erasures interrupted between the two stores, erased customers whose key
    remains, customers without a key, keys without a customer. Exits 1 when splits remain;
    --repair finishes or undoes each one as the interrupted step would have.
    """
    if repair:
        try:
            count = consistency.repair_all(
                db.session(), lambda s: click.echo(f"  repaired {s.describe()}")
            )
        except SQLAlchemyError as exc:
            db.session.rollback()
            fail(f"a repair failed ({type(exc).__name__}); run the check again to see what remains")
        click.echo(f"Repaired {count} splits between the database and the key store.")
        return
    count = 0
    for split in consistency.find_splits(db.session()):
        count += 1
        if count <= LISTED:
            click.echo(f"  {split.describe()}")
    if count:
        click.echo(f"{count} splits between the database and the key store (run with --repair).")
        raise SystemExit(1)
    click.echo("The database and the key store agree: no split.")


@group.command("rotate-kek")
@click.option("--batch-size", default=500, show_default=True, type=click.IntRange(1, 100_000))
@domain_errors
def rotate_kek(batch_size: int) -> None:
    """Rewrap every data key under the active master key, and seal the webhook signing
    secrets, stored API answers and kept references again under it (resumable, safe to
    interrupt).

    Add the new key version to ASSENSO_VAULT_KEYS first; remove the old one only after this
    command reports that no data key remains under it.
    """
    total = rotation.rotate_kek(db.session(), batch_size, lambda n: click.echo(f"  rewrapped {n}"))
    click.echo(f"Rewrapped {total} data keys.")
    resealed = reseal_all(db.session(), batch_size)
    click.echo(f"Sealed {resealed} webhook and API secrets again.")


@group.command("reindex")
@click.option("--batch-size", default=500, show_default=True, type=click.IntRange(1, 100_000))
@domain_errors
def reindex(batch_size: int) -> None:
    """Recompute e-mail blind indexes under the active index key (resumable)."""
    total = rotation.reindex_emails(
        db.session(), batch_size, lambda n: click.echo(f"  re-indexed {n}")
    )
    click.echo(f"Re-indexed {total} e-mail addresses.")


@group.command("summaries")
@click.option("--repair", is_flag=True, help="Rewrite the stale summaries from the rows.")
@domain_errors
def summaries(repair: bool) -> None:
    """Check the customers' suppression and sharing summaries against their rows.

    Triggers keep them in step; a difference means rows were changed with the triggers
    disabled (a bulk load, a manual fix). Exits 1 when stale summaries remain.
    """
    from app.vault.summaries import repair_summaries, stale_summaries

    if repair:
        count = repair_summaries(db.session(), lambda n: click.echo(f"  rewrote {n}"))
        click.echo(f"Rewrote {count} stale customer summaries.")
        return
    count = sum(1 for _ in stale_summaries(db.session()))
    db.session.rollback()
    if count:
        click.echo(f"{count} customer summaries differ from their rows (run with --repair).")
        raise SystemExit(1)
    click.echo("Every customer summary matches its rows.")
