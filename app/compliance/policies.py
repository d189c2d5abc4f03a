"""The policies in force and the history of their changes, for the compliance console."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.policy.models import PolicyRevision
from app.services import runtime


@dataclass(frozen=True, slots=True)
class DiffLine:
    """One line of a unified diff and its kind: ``add``, ``del``, ``hunk``, ``file`` or ``same``."""

    kind: str
    text: str


def diff_lines(diff: str | None) -> list[DiffLine]:
    """A stored unified diff split into typed lines, for rendering (markers kept in the text)."""
    lines = []
    for line in (diff or "").splitlines():
        if line.startswith(("+++", "---")):
            kind = "file"
        elif line.startswith("@@"):
            kind = "hunk"
        elif line.startswith("+"):
            kind = "add"
        elif line.startswith("-"):
            kind = "del"
        else:
            kind = "same"
        lines.append(DiffLine(kind, line))
    return lines


def active_policies() -> list[dict]:
    """Each loaded policy with its identity and hash (the exact bytes in force)."""
    return [
        {
            "policy_id": policy.policy_id,
            "version": policy.version,
            "title": policy.title,
            "jurisdictions": " ".join(policy.jurisdictions),
            "default": policy.default,
            "purposes": " ".join(policy.purposes),
            "file": policy.path.rsplit("/", 1)[-1] if policy.path else None,
            "sha256": policy.sha256,
        }
        for policy in runtime().policies.policies
    ]


def revision_history(session: Session, limit: int = 500) -> list[PolicyRevision]:
    """Recorded policy revisions, newest first."""
    return list(
        session.scalars(
            select(PolicyRevision)
            .order_by(PolicyRevision.loaded_at.desc(), PolicyRevision.id.desc())
            .limit(limit)
        )
    )
