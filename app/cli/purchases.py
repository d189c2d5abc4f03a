"""``flask purchases``: import purchase events from a CSV file."""

from __future__ import annotations

import click

from app.cli import domain_errors
from app.extensions import db
from app.marketing.purchase_import import import_purchases, read_purchase_events


@click.group("purchases", help="Purchase events: import them where customers allow it.")
def group() -> None:
    """Command group for purchase events."""


@group.command("import")
@click.argument("path", type=click.Path(dir_okay=False))
@domain_errors
def import_command(path: str) -> None:
    """Import PATH (CSV: customer,sku,category,amount,at); purchases are kept only for
    customers who allow learning for recommendations."""
    summary = import_purchases(db.session(), read_purchase_events(path))
    click.echo(f"Stored {summary.stored} purchases ({summary.duplicates} already held).")
    for reason, count in sorted(summary.purchases_not_stored.items()):
        click.echo(f"Not stored, {reason.replace('_', ' ')}: {count} purchases.")
    if summary.unknown_customers:
        click.echo(f"Unknown customers: {summary.unknown_customers}.")
