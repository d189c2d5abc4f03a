"""Server-side sign-in sessions: opened at sign-in, checked on every request, ended at sign-out.

The browser's signed cookie names a session by a random id; the record here decides whether
it is still open, for every web process alike. A session ends when its owner signs out, signs
out everywhere or changes the password, when the account is disabled or erased, after a
period without requests (idle timeout) and at the latest a fixed time after sign-in
(OWASP ASVS 4.0, 3.3.1 and 3.3.2).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, select, update
from sqlalchemy.orm import Session

from app.accounts.models import SignInSession
from app.models_base import utcnow
from app.transaction import transaction

#: Most often a request records "last seen" (fewer writes; the idle timeout stays exact to it).
TOUCH_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class SessionLimits:
    """How long a session of one kind of account may stay idle, and may last at all."""

    idle: timedelta
    lifetime: timedelta

    @property
    def touch_every(self) -> timedelta:
        """How stale "last seen" may get before a request records it again."""
        return min(TOUCH_EVERY, self.idle / 4)


def token_digest(token: str) -> str:
    """What is stored of a session id: its SHA-256, so the table alone opens no session."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def open_session(
    session: Session, kind: str, account_id: int, limits: SessionLimits, now: datetime | None = None
) -> str:
    """Record a new session of the account and return its id for the browser's cookie.

    Sessions past their lifetime are forgotten on the way (one indexed delete).
    """
    now = now or utcnow()
    token = secrets.token_urlsafe(32)
    with transaction(session):
        session.execute(delete(SignInSession).where(SignInSession.expires_at < now))
        session.add(
            SignInSession(
                token_hash=token_digest(token),
                account_kind=kind,
                account_id=account_id,
                created_at=now,
                last_seen_at=now,
                expires_at=now + limits.lifetime,
            )
        )
    return token


def signed_in_account(
    session: Session,
    model,
    alt_id: str,
    token: str,
    limits: SessionLimits,
    now: datetime | None = None,
):
    """The account of class ``model`` that ``token`` keeps signed in, or ``None``.

    One indexed read joins the session to its account (``alt_id`` must still match: rotating
    it ends older cookies too). A session past its idle timeout is ended; an open one records
    that it was seen, at most every ``limits.touch_every``.
    """
    now = now or utcnow()
    row = session.execute(
        select(model, SignInSession)
        .join(
            SignInSession,
            and_(SignInSession.account_kind == model.kind, SignInSession.account_id == model.id),
        )
        .where(SignInSession.token_hash == token_digest(token), model.alt_id == alt_id)
    ).first()
    if row is None:
        return None
    account, record = row
    if record.ended_at is not None or now >= record.expires_at or not account.is_active:
        return None
    if now >= record.last_seen_at + limits.idle:
        with transaction(session):
            record.ended_at, record.ended_by = now, "idle timeout"
        return None
    if now - record.last_seen_at >= limits.touch_every:
        with transaction(session):
            record.last_seen_at = now
    return account


def end_session(session: Session, token: str, reason: str) -> None:
    """End the session ``token`` names (signing out of one browser)."""
    with transaction(session):
        session.execute(
            update(SignInSession)
            .where(
                SignInSession.token_hash == token_digest(token), SignInSession.ended_at.is_(None)
            )
            .values(ended_at=utcnow(), ended_by=reason)
        )


def end_sessions_of(session: Session, kind: str, account_id: int, reason: str) -> None:
    """End every open session of one account, inside the caller's transaction."""
    session.execute(
        update(SignInSession)
        .where(
            SignInSession.account_kind == kind,
            SignInSession.account_id == account_id,
            SignInSession.ended_at.is_(None),
        )
        .values(ended_at=utcnow(), ended_by=reason)
    )
