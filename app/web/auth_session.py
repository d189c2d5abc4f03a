"""Loading the signed-in user from the session id (``kind:alt_id``)."""

from __future__ import annotations

from sqlalchemy import select

from app.accounts.models import StaffUser
from app.extensions import db
from app.vault.models import Customer

_KINDS = {"staff": StaffUser, "customer": Customer}


def load_user(session_id: str):
    """Flask-Login user loader: a rotated alternative id no longer matches any account."""
    kind, _, alt_id = session_id.partition(":")
    model = _KINDS.get(kind)
    if model is None or not alt_id:
        return None
    user = db.session.scalar(select(model).where(model.alt_id == alt_id))
    if user is None or not user.is_active:
        return None
    return user
