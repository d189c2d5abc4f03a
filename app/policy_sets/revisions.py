"""Loading policies is an explicit, recorded action, and it is what puts them in force.

A load records a :class:`PolicySetRevision`: the files that decide from then on, who loaded
them and why. Each file whose SHA-256 differs from its latest :class:`PolicyRevision` is stored
with the previous hash and a unified diff of the source text; an unchanged file is shared with
the set before. The first load of a policy records the whole file (no previous hash, no diff).
The newest set revision is the one in force, for every process.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.errors import Conflict
from app.policy.document import Policy
from app.policy.policyset import PolicySet
from app.policy_sets.models import PolicyRevision, PolicySetFile, PolicySetRevision
from app.transaction import transaction

#: Who recorded the files found on disk when the database held no set in force yet.
SYSTEM_ACTOR = "system"


class ConcurrentLoad(Conflict):
    """Another load was recorded from the same set at the same moment."""

    def __init__(self) -> None:
        super().__init__(
            "Another policy load was recorded at the same moment; nothing was recorded. "
            "Check `flask policy list` and load again if needed."
        )


@dataclass(frozen=True)
class PolicyLoad:
    """What a load recorded: the set revision now in force (``None`` when the files were
    already in force) and the file revisions it added."""

    set_revision: PolicySetRevision | None
    changed: list[PolicyRevision] = field(default_factory=list)


def set_in_force(session: Session) -> PolicySetRevision | None:
    """The set revision in force (the newest), or ``None`` before the first load."""
    return session.scalars(
        select(PolicySetRevision).order_by(PolicySetRevision.id.desc()).limit(1)
    ).first()


def newest_set_id(session_or_connection) -> int | None:
    """The id of the set revision in force: one read of the primary key's index."""
    return session_or_connection.execute(select(func.max(PolicySetRevision.id))).scalar()


def set_files(session: Session, set_id: int) -> list[PolicyRevision]:
    """The file revisions of set revision ``set_id``, by policy id."""
    return list(
        session.scalars(
            select(PolicyRevision)
            .join(PolicySetFile, PolicySetFile.revision_id == PolicyRevision.id)
            .where(PolicySetFile.set_id == set_id)
            .order_by(PolicyRevision.policy_id)
        )
    )


def latest_revision(session: Session, policy_id: str) -> PolicyRevision | None:
    """The most recently recorded revision of ``policy_id``, or ``None``."""
    return session.scalars(
        select(PolicyRevision)
        .where(PolicyRevision.policy_id == policy_id)
        .order_by(PolicyRevision.id.desc())
        .limit(1)
    ).first()


def source_diff(before: str, after: str, filename: str) -> str:
    """A unified diff of two versions of a policy file's text."""
    lines = difflib.unified_diff(
        before.splitlines(keepends=True),
        after.splitlines(keepends=True),
        fromfile=f"a/{filename}",
        tofile=f"b/{filename}",
    )
    return "".join(lines)


def _revision(
    policy: Policy, previous: PolicyRevision | None, actor: str, reason: str | None
) -> PolicyRevision:
    filename = Path(policy.path).name if policy.path else f"{policy.policy_id}.yaml"
    return PolicyRevision(
        policy_id=policy.policy_id,
        filename=filename,
        sha256=policy.sha256,
        previous_sha256=previous.sha256 if previous else None,
        source_text=policy.source_text,
        diff=source_diff(previous.source_text, policy.source_text, filename) if previous else None,
        actor=actor,
        reason=reason,
    )


def record_policy_load(
    session: Session, policy_set: PolicySet, actor: str, reason: str | None = None
) -> PolicyLoad:
    """Put ``policy_set`` in force for every process, recording who loaded it and why.

    Nothing is recorded when it is already the set in force. Raises :class:`ConcurrentLoad`
    when another load from the same set was recorded first.
    """
    try:
        with transaction(session):
            current = set_in_force(session)
            if current is not None and current.sha256 == policy_set.sha256:
                return PolicyLoad(None)
            members, changed = [], []
            for policy in policy_set.policies:
                previous = latest_revision(session, policy.policy_id)
                if previous is None or previous.sha256 != policy.sha256:
                    previous = _revision(policy, previous, actor, reason)
                    changed.append(previous)
                members.append(previous)
            loaded = PolicySetRevision(
                previous_id=current.id if current is not None else 0,
                sha256=policy_set.sha256,
                actor=actor,
                reason=reason,
            )
            session.add_all([*changed, loaded])
            session.flush()
            session.add_all(PolicySetFile(set_id=loaded.id, revision_id=m.id) for m in members)
    except IntegrityError:
        raise ConcurrentLoad() from None
    return PolicyLoad(loaded, changed)


def ensure_recorded(
    session: Session, policy_set: PolicySet, actor: str = SYSTEM_ACTOR
) -> PolicyLoad:
    """Record ``policy_set`` as the first set in force when the database holds none yet."""
    if newest_set_id(session) is not None:
        return PolicyLoad(None)
    return record_policy_load(session, policy_set, actor, reason="first policies recorded")
