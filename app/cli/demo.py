"""``flask demo``: load the demo data and print the demo logins."""

from __future__ import annotations

import click

from app.cli import domain_errors, fail
from app.demo.seed import demo_logins, is_empty, seed_demo
from app.extensions import db
from app.settings import current_settings


def print_logins() -> None:
    """Print the demo accounts and where to sign in."""
    base = current_settings().public_base_url
    click.echo("\nDemo logins (development only):")
    for login in demo_logins():
        click.echo(f"  {login.who:<19} {login.email:<26} {login.password:<24} {base}{login.url}")


@click.group("demo", help="Demo data.")
def group() -> None:
    """Command group for the demo."""


@group.command("seed")
@click.option("--if-empty", is_flag=True, help="Only seed a database with no customers or staff.")
@click.option("--customers", default=300, show_default=True, type=click.IntRange(0, 100_000))
@domain_errors
def seed(if_empty: bool, customers: int) -> None:
    """Load the demo idempotently (customers only in example.com/.org/.net) and print logins."""
    if not current_settings().demo_allowed:
        fail(
            "the demo is refused in production: its staff and customer passwords are "
            "published. Create staff accounts with `flask users create`.",
            2,
        )
    if if_empty and not is_empty(db.session()):
        click.echo("The database already holds data; demo not loaded again.")
    else:
        click.echo(f"Loading the demo ({customers} customers)…")
        added = seed_demo(db.session(), customers)
        click.echo(f"Added {added} customers.")
    print_logins()
