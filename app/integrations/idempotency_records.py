"""The retention of the API's idempotency records (``IdempotentRequest``).

A record answers the retries of its request for ``API_IDEMPOTENCY_RETENTION_HOURS`` (24 by
default) after it was made. Past that it has expired: a retry with its key is handled as a new
request (:func:`renew_expired`, on the API's path), and :func:`purge_expired` deletes it (the
scheduler's ``compliance:purge-records`` job and ``flask api-keys purge-idempotency``).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.orm import Session

from app.integrations.models import IdempotentRequest
from app.models_base import rows_changed
from app.settings import Settings
from app.transaction import transaction


def retention(settings: Settings) -> timedelta:
    """How long a record is kept."""
    return timedelta(hours=settings.api_idempotency_retention_hours)


def expired(record: IdempotentRequest, now: datetime, settings: Settings) -> bool:
    """Whether ``record`` is past its retention at ``now``."""
    return record.created_at <= now - retention(settings)


def renew_expired(session: Session, record: IdempotentRequest) -> None:
    """Delete an expired record in a transaction of its own, so its key can be claimed anew
    (a record another request renewed meanwhile is left alone)."""
    with transaction(session):
        session.execute(
            delete(IdempotentRequest).where(
                IdempotentRequest.id == record.id,
                IdempotentRequest.created_at == record.created_at,
            )
        )


def purge_expired(session: Session, now: datetime, settings: Settings) -> int:
    """Delete every record past its retention at ``now``; the number deleted."""
    with transaction(session):
        return rows_changed(
            session,
            delete(IdempotentRequest)
            .where(IdempotentRequest.created_at <= now - retention(settings))
            .execution_options(synchronize_session=False),
        )
