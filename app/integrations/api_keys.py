"""API keys: made by an admin (console or ``flask api-keys create``), shown once, stored hashed.

A key reads ``ak_<public id>_<secret>``. The public id finds the row; the secret is checked
against ``secret_hash``, an HMAC-SHA256 under the active blind-index key over
``b"assenso.api-key.v1" NUL | version | NUL | secret`` (``v<version>:<hex>``), so a copy of the
database alone cannot be used to try secrets. Each key has a name (shown in the vault's access
log), scopes, an optional rate limit and expiry, and can be revoked.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from limits import parse as parse_limit
from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from app.errors import Conflict, InvalidInput, NotFound
from app.integrations.models import ApiKey
from app.models_base import utcnow
from app.runtime import runtime
from app.transaction import transaction
from app.vault.keyring import KeyRing

#: Every scope a key may hold.
SCOPES = (
    "consent:write",
    "decisions:read",
    "events:write",
    "requests:write",
    "customers:read",
    "webhooks:manage",
)
PREFIX = "ak_"
_LABEL = b"assenso.api-key.v1\x00"
#: How stale ``last_used_at`` may be before a call writes it again (one write per minute).
LAST_USE_PRECISION = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class AuthenticatedKey:
    """What a request knows about the key it came with."""

    id: int
    public_id: str
    name: str
    scopes: frozenset[str]
    rate_limit: str | None


def _digest(keyring: KeyRing, version: int, secret: str) -> str:
    message = b"%b%d\x00%b" % (_LABEL, version, secret.encode())
    return f"v{version}:{hmac.new(keyring.key(version), message, hashlib.sha256).hexdigest()}"


def secret_hash(secret: str) -> str:
    """The stored form of a key's secret (under the active blind-index key)."""
    keyring = runtime().blind_index_keys
    return _digest(keyring, keyring.active_version, secret)


def _matches(stored: str, secret: str) -> bool:
    keyring = runtime().blind_index_keys
    version_text = stored.partition(":")[0].removeprefix("v")
    if not version_text.isdigit() or int(version_text) not in keyring.versions:
        return False
    return hmac.compare_digest(stored, _digest(keyring, int(version_text), secret))


#: What a call reads of its key, in one indexed read (built once: a statement built per call
#: costs SQLAlchemy more than the query).
_KEY_BY_PUBLIC_ID = select(
    ApiKey.id,
    ApiKey.secret_hash,
    ApiKey.name,
    ApiKey.scopes,
    ApiKey.rate_limit,
    ApiKey.expires_at,
    ApiKey.revoked_at,
    ApiKey.last_used_at,
).where(ApiKey.public_id == bindparam("public_id"))


def check_scopes(scopes: list[str] | tuple[str, ...] | set[str]) -> list[str]:
    """The scopes, sorted; ``InvalidInput`` naming an unknown one or when there are none."""
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown:
        raise InvalidInput(f"Unknown scope {unknown[0]!r}; choose from {', '.join(SCOPES)}.")
    if not scopes:
        raise InvalidInput("Give the key at least one scope.")
    return sorted(set(scopes))


def check_rate_limit(text: str | None) -> str | None:
    """A rate limit such as ``600 per minute`` (or ``None``: the default setting applies)."""
    if text is None or not text.strip():
        return None
    try:
        parse_limit(text)
    except ValueError:
        raise InvalidInput("Write the rate limit like '600 per minute'.") from None
    return text.strip()


def create_key(
    session: Session,
    *,
    name: str,
    scopes: list[str] | tuple[str, ...] | set[str],
    created_by: str,
    expires_at: datetime | None = None,
    rate_limit: str | None = None,
) -> tuple[ApiKey, str]:
    """Make a key; returns the row and the full key, which is never shown again."""
    clean_name = (name or "").strip()
    if not 0 < len(clean_name) <= 80 or not clean_name.isprintable():
        raise InvalidInput("Name the key in 1 to 80 printable characters.")
    if expires_at is not None and expires_at <= utcnow():
        raise InvalidInput("The expiry must be in the future.")
    chosen = check_scopes(scopes)
    limit = check_rate_limit(rate_limit)
    public_id, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
    with transaction(session):
        if session.scalar(select(ApiKey.id).where(ApiKey.name == clean_name)):
            raise Conflict(f"A key named {clean_name!r} already exists.")
        key = ApiKey(
            public_id=public_id,
            secret_hash=secret_hash(secret),
            name=clean_name,
            scopes=" ".join(chosen),
            rate_limit=limit,
            created_by=created_by,
            expires_at=expires_at,
        )
        session.add(key)
    return key, f"{PREFIX}{public_id}_{secret}"


def authenticate(session: Session, presented: str) -> AuthenticatedKey | None:
    """The live key matching ``presented``; ``None`` for anything unknown, revoked or expired.

    Records the time of use (at most once a minute per key).
    """
    body = presented.removeprefix(PREFIX) if presented.startswith(PREFIX) else ""
    public_id, sep, secret = body.partition("_")
    if not sep or len(public_id) != 12 or not secret:
        return None
    row = session.execute(_KEY_BY_PUBLIC_ID, {"public_id": public_id}).first()
    now = utcnow()
    if row is None or not _matches(row.secret_hash, secret):
        return None
    if row.revoked_at is not None or (row.expires_at is not None and row.expires_at <= now):
        return None
    if row.last_used_at is None or row.last_used_at < now - LAST_USE_PRECISION:
        with transaction(session):
            session.execute(update(ApiKey).where(ApiKey.id == row.id).values(last_used_at=now))
    return AuthenticatedKey(
        row.id, public_id, row.name, frozenset(row.scopes.split()), row.rate_limit
    )


def revoke_key(session: Session, key_id_or_name: int | str) -> ApiKey:
    """Revoke a key by id or name (effective for the next call); refuses a revoked key."""
    column = ApiKey.id if isinstance(key_id_or_name, int) else ApiKey.name
    with transaction(session):
        key = session.scalar(select(ApiKey).where(column == key_id_or_name))
        if key is None:
            raise NotFound("No such API key.")
        if key.revoked_at is not None:
            raise Conflict("This key was already revoked.")
        key.revoked_at = utcnow()
    return key


def list_keys(session: Session) -> list[ApiKey]:
    """Every key, newest first (secrets are never shown)."""
    return list(session.scalars(select(ApiKey).order_by(ApiKey.id.desc())))
