"""Versioned privacy notices: the exact text shown when asking for consent."""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.errors import InvalidInput, NotFound
from app.ledger.models import Notice
from app.models_base import utcnow
from app.transaction import transaction


def notice_hash(text: str) -> str:
    """SHA-256 (hex) of the notice text exactly as shown (UTF-8)."""
    return hashlib.sha256(text.encode()).hexdigest()


def publish_notice(
    session: Session,
    *,
    purpose: str,
    language: str,
    title: str,
    text: str,
    effective_at: datetime | None = None,
) -> Notice:
    """Add a new version of the notice; earlier versions are never altered."""
    if not text.strip() or not title.strip():
        raise InvalidInput("A notice needs a title and a text.")
    with transaction(session):
        latest = session.scalar(
            select(func.max(Notice.version)).where(
                Notice.purpose == purpose, Notice.language == language
            )
        )
        notice = Notice(
            purpose=purpose,
            language=language,
            version=(latest or 0) + 1,
            title=title.strip(),
            text=text,
            sha256=notice_hash(text),
            effective_at=effective_at or utcnow(),
        )
        session.add(notice)
    return notice


def current_notice(
    session: Session, purpose: str, language: str, at: datetime | None = None
) -> Notice:
    """The notice in force for ``purpose`` in ``language`` (falling back to English)."""
    moment = at or utcnow()
    for lang in dict.fromkeys((language, "en")):
        notice = session.scalar(
            select(Notice)
            .where(
                Notice.purpose == purpose, Notice.language == lang, Notice.effective_at <= moment
            )
            .order_by(Notice.version.desc())
            .limit(1)
        )
        if notice is not None:
            return notice
    raise NotFound(f"No notice is published for purpose {purpose!r}.")


def notice_history(session: Session, purpose: str | None = None) -> list[Notice]:
    """Every notice version, newest first (optionally for one purpose)."""
    query = select(Notice).order_by(Notice.purpose, Notice.language, Notice.version.desc())
    if purpose:
        query = query.where(Notice.purpose == purpose)
    return list(session.scalars(query))
