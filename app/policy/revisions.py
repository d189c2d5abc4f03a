"""Loading a changed policy is an explicit, recorded action.

Each policy file whose SHA-256 differs from its latest :class:`PolicyRevision` is stored with
the previous hash and a unified diff of the source text, with who loaded it and why. The first
load of a policy records the whole file (no previous hash, no diff).
"""

from __future__ import annotations

import difflib
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.policy.model import Policy
from app.policy.models import PolicyRevision
from app.policy.policyset import PolicySet
from app.transaction import transaction


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
) -> list[PolicyRevision]:
    """Record every policy of ``policy_set`` that changed since its latest revision.

    Returns the new revisions (empty when nothing changed).
    """
    recorded: list[PolicyRevision] = []
    with transaction(session):
        for policy in policy_set.policies:
            previous = latest_revision(session, policy.policy_id)
            if previous is not None and previous.sha256 == policy.sha256:
                continue
            revision = _revision(policy, previous, actor, reason)
            session.add(revision)
            recorded.append(revision)
    return recorded


def ensure_recorded(
    session: Session, policy_set: PolicySet, actor: str = "system"
) -> list[PolicyRevision]:
    """Record the active policies if they are not recorded yet (demo seed, console start)."""
    return record_policy_load(session, policy_set, actor, reason="active policies recorded")


def active_revisions(session: Session, policy_set: PolicySet) -> dict[str, PolicyRevision | None]:
    """For each active policy, its latest revision when that matches the loaded file."""
    found: dict[str, PolicyRevision | None] = {}
    for policy in policy_set.policies:
        latest = latest_revision(session, policy.policy_id)
        found[policy.policy_id] = latest if latest and latest.sha256 == policy.sha256 else None
    return found
