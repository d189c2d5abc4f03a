"""The policies in force and the history of their loads, for the compliance console.

"In force" is read from the database, from the same set revision every process decides with
(:func:`app.policy_sets.in_force.check_in_force`), never from the files of the web server's
own disk.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.policy_sets.in_force import check_in_force
from app.policy_sets.models import PolicyRevision, PolicySetFile, PolicySetRevision
from app.policy_sets.revisions import set_files


@dataclass(frozen=True, slots=True)
class DiffLine:
    """One line of a unified diff and its kind: ``add``, ``del``, ``hunk``, ``file`` or ``same``."""

    kind: str
    text: str


@dataclass(frozen=True, slots=True)
class InForceView:
    """The set revision in force, one row per file and one row per purpose."""

    revision: PolicySetRevision
    files: list[dict]
    purposes: list[dict]


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


def policies_in_force_view(session: Session) -> InForceView:
    """The set in force as every process decides with it: files, hashes and purposes."""
    in_force = check_in_force()
    policies = in_force.policies
    revisions = {r.policy_id: r for r in set_files(session, in_force.set_id)}
    files = [
        {
            "policy_id": policy.policy_id,
            "version": policy.version,
            "title": policy.title,
            "jurisdictions": " ".join(policy.jurisdictions),
            "default": policy is policies.default,
            "purposes": " ".join(policy.purposes),
            "file": revisions[policy.policy_id].filename,
            "sha256": policy.sha256,
            "revision_id": revisions[policy.policy_id].id,
        }
        for policy in policies.policies
    ]
    purposes = [
        {
            "policy_id": policy.policy_id,
            "purpose": purpose.id,
            "lawful_basis": purpose.lawful_basis,
            "direct_marketing": purpose.direct_marketing,
            "campaigns": "allowed" if purpose.direct_marketing else "refused",
            "transactional": purpose.transactional,
            "profiling": purpose.profiling,
            "fields": " ".join(sorted(purpose.fields)),
        }
        for policy in policies.policies
        for purpose in policy.purposes.values()
    ]
    return InForceView(session.get_one(PolicySetRevision, in_force.set_id), files, purposes)


def load_history(session: Session, limit: int = 500) -> list[dict]:
    """Every load of the policy set, newest first (the first row is the set in force)."""
    loads = list(
        session.scalars(
            select(PolicySetRevision).order_by(PolicySetRevision.id.desc()).limit(limit)
        )
    )
    files: dict[int, list[PolicyRevision]] = {load.id: [] for load in loads}
    rows = session.execute(
        select(PolicySetFile.set_id, PolicyRevision)
        .join(PolicyRevision, PolicyRevision.id == PolicySetFile.revision_id)
        .where(PolicySetFile.set_id.in_(list(files)))
        .order_by(PolicyRevision.filename)
    )
    for set_id, revision in rows:
        files[set_id].append(revision)
    return [
        {
            "id": load.id,
            "loaded_at": load.loaded_at,
            "actor": load.actor,
            "reason": load.reason,
            "files": ", ".join(f"{r.filename} {r.sha256[:12]}" for r in files[load.id]),
            "sha256": load.sha256,
            "in_force": index == 0,
        }
        for index, load in enumerate(loads)
    ]


def revision_history(session: Session, limit: int = 500) -> list[PolicyRevision]:
    """Recorded policy file revisions, newest first."""
    return list(
        session.scalars(
            select(PolicyRevision)
            .order_by(PolicyRevision.loaded_at.desc(), PolicyRevision.id.desc())
            .limit(limit)
        )
    )
