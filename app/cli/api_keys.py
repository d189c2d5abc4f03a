"""``flask api-keys``: make, list and revoke the integrators' API keys."""

from __future__ import annotations

from datetime import UTC, datetime

import click

from app.cli import domain_errors
from app.extensions import db
from app.integrations.api_keys import SCOPES, create_key, list_keys, revoke_key
from app.integrations.idempotency_records import purge_expired
from app.models_base import utcnow
from app.settings import current_settings


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if moment else "-"


@click.group("api-keys", help="Manage the API keys of integrators.")
def group() -> None:
    """Command group for API keys."""


@group.command("create")
@click.option("--name", required=True, help="Who uses the key (shown in the access log).")
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    required=True,
    type=click.Choice(SCOPES),
    help="A scope of the key (repeat for more).",
)
@click.option(
    "--expires",
    type=click.DateTime(formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M"]),
    help="Expiry (UTC), e.g. 2027-06-30.",
)
@click.option("--rate-limit", help="Calls allowed, e.g. '600 per minute' (default: the setting).")
@domain_errors
def create(
    name: str, scopes: tuple[str, ...], expires: datetime | None, rate_limit: str | None
) -> None:
    """Make a key and print it once: it is stored only as a keyed hash."""
    expires_at = expires.replace(tzinfo=UTC) if expires else None
    key, secret = create_key(
        db.session(),
        name=name,
        scopes=scopes,
        created_by="cli",
        expires_at=expires_at,
        rate_limit=rate_limit,
    )
    click.echo(f"Created API key {key.name!r} ({key.scopes}). It is shown only now:")
    click.echo(secret)


@group.command("list")
def list_command() -> None:
    """List keys: name, scopes, expiry, last use, state (never the secret)."""
    for key in list_keys(db.session()):
        state = "revoked" if key.revoked_at else "active"
        click.echo(
            f"{key.id}\t{key.name}\t{key.scopes}\texpires {_when(key.expires_at)}\t"
            f"last used {_when(key.last_used_at)}\t{state}"
        )


@group.command("revoke")
@click.option("--name", required=True, help="The key's name.")
@domain_errors
def revoke(name: str) -> None:
    """Revoke a key; the next call made with it is refused."""
    key = revoke_key(db.session(), name)
    click.echo(f"Revoked API key {key.name!r}.")


@group.command("purge-idempotency")
@domain_errors
def purge_idempotency() -> None:
    """Delete the idempotency records past API_IDEMPOTENCY_RETENTION_HOURS (the scheduler
    does it too, every ASSENSO_SCHEDULER_PURGE_SECONDS)."""
    purged = purge_expired(db.session(), utcnow(), current_settings())
    click.echo(f"Purged {purged} expired idempotency records.")
