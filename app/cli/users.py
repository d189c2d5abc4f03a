"""``flask users``: manage staff accounts."""

from __future__ import annotations

import click
from sqlalchemy import select

from app.accounts import service as accounts
from app.accounts.models import STAFF_ROLES, StaffUser
from app.cli import domain_errors
from app.extensions import db


@click.group("users", help="Manage staff accounts.")
def group() -> None:
    """Command group for staff accounts."""


@group.command("create")
@click.option("--email", required=True, help="The staff member's e-mail address.")
@click.option("--role", required=True, type=click.Choice(STAFF_ROLES), help="Their one role.")
@click.option(
    "--password",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    help="Initial password (prompted when omitted).",
)
@domain_errors
def create(email: str, role: str, password: str) -> None:
    """Create a staff account with one role."""
    user = accounts.create_staff_user(db.session(), email, role, password)
    click.echo(f"Created {user.role} account {user.email}.")


@group.command("list")
def list_users() -> None:
    """List staff accounts and their roles."""
    for user in db.session.scalars(select(StaffUser).order_by(StaffUser.email)):
        state = "active" if user.active else "disabled"
        click.echo(f"{user.email}\t{user.role}\t{state}")


@group.command("disable")
@click.option("--email", required=True)
@domain_errors
def disable(email: str) -> None:
    """Disable a staff account and end its sessions."""
    user = accounts.disable_staff_user(db.session(), email)
    click.echo(f"Disabled {user.email}.")
