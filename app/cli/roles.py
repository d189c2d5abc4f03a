"""``flask db grant-app-role``: the application's own PostgreSQL role (see ``app/db_roles.py``)."""

from __future__ import annotations

import click
from sqlalchemy.engine import make_url

from app.cli import domain_errors, fail
from app.db_roles import grant_app_role
from app.extensions import db
from app.settings import current_settings


@click.command("grant-app-role")
@click.option("--role", help="The application's role (default: the user of the app's URL).")
@domain_errors
def grant_app_role_command(role: str | None) -> None:
    """Create the application's role if missing and grant it only what the application needs.

    Run it as the schema's owner (DATABASE_URL of the owner) after every `flask db upgrade`.
    The role and its password can come from ASSENSO_APP_DATABASE_URL, the URL the web app,
    scheduler and workers use (or the file ASSENSO_APP_DATABASE_URL_FILE names); the
    ledger's tables are then insert-only for them.
    """
    password = None
    app_url = current_settings().app_database_url
    if app_url:
        parsed = make_url(app_url)
        if role and role != parsed.username:
            fail(f"--role {role!r} is not the user of ASSENSO_APP_DATABASE_URL", 2)
        role, password = parsed.username, parsed.password
    if not role:
        fail("name the application's role: --role NAME, or set ASSENSO_APP_DATABASE_URL", 2)
    done = grant_app_role(db.engine, role, password)
    action = "Created" if done.created else "Updated"
    click.echo(
        f"{action} the role {done.role!r}: read and insert on the ledger, read and write on "
        f"the other tables ({done.tables} tables); it owns nothing and can alter nothing."
    )
