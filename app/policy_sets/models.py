"""Database records of the policy files loaded and of the set in force.

Every process decides with the set in force that the database names (the newest
:class:`PolicySetRevision`), never with its own copy of the files.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import Model
from app.models_base import UTCDateTime, utcnow


class PolicyRevision(Model):
    """One loaded version of one policy file, with the diff from the version before it."""

    __tablename__ = "policy_revisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    policy_id: Mapped[str] = mapped_column(String(80), index=True)
    filename: Mapped[str] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    previous_sha256: Mapped[str | None] = mapped_column(String(64))
    source_text: Mapped[str] = mapped_column(Text)
    diff: Mapped[str | None] = mapped_column(Text)
    loaded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    actor: Mapped[str] = mapped_column(String(120))
    reason: Mapped[str | None] = mapped_column(Text)


class PolicySetRevision(Model):
    """One load of the whole policy set: from ``loaded_at`` these files decide every message.

    The newest row is the set in force. Each row names the one it replaced (``previous_id``,
    0 for the first) and that name is unique, so two loads racing from the same set cannot
    both be recorded: the history is one line.
    """

    __tablename__ = "policy_set_revisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    previous_id: Mapped[int] = mapped_column(Integer, unique=True)
    sha256: Mapped[str] = mapped_column(String(64))
    loaded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    actor: Mapped[str] = mapped_column(String(120))
    reason: Mapped[str | None] = mapped_column(Text)


class PolicySetFile(Model):
    """One policy file revision belonging to a set revision."""

    __tablename__ = "policy_set_files"

    set_id: Mapped[int] = mapped_column(
        ForeignKey("policy_set_revisions.id", ondelete="CASCADE"), primary_key=True
    )
    revision_id: Mapped[int] = mapped_column(ForeignKey("policy_revisions.id"), primary_key=True)
