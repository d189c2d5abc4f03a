"""The policy set in force, as the database names it, for every process on every machine.

:func:`policies_in_force` is the set that decides in the current unit of work (a request, a
job, a command); :func:`refresh_policies` checks the database again (per batch of a long loop).
:class:`PoliciesInForce` is one process's copy. :meth:`~PoliciesInForce.current` costs one read
of an index (the newest set revision's id); only when another process has loaded a new set is
the copy rebuilt, from the texts stored with it and validated exactly like files (never from
this machine's files, which may differ). When the database holds no set yet, the files found
on disk at start are recorded as the first one (actor ``system``). When those files differ from
the set in force, the database wins and a warning asks the operator to load them.
"""

from __future__ import annotations

import logging
import threading
from contextlib import suppress
from dataclasses import dataclass

from flask import g
from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session

from app.extensions import db
from app.policy.document import Policy, PolicyError
from app.policy.loader import policies_from_texts
from app.policy.policyset import PolicySet
from app.policy_sets.revisions import (
    ConcurrentLoad,
    ensure_recorded,
    newest_set_id,
    set_files,
    set_in_force,
)
from app.runtime import runtime

log = logging.getLogger("assenso.policy")

#: Where the set in force checked for the current application context is kept (on ``g``).
_CHECKED = "assenso_policies_in_force"


@dataclass(frozen=True, slots=True)
class InForce:
    """A set revision's id and the policy set rebuilt from its files."""

    set_id: int
    policies: PolicySet


class PoliciesInForce:
    """This process's copy of the set in force; see the module docstring."""

    def __init__(self, on_disk: PolicySet, directory: str) -> None:
        """Keep the files found in ``directory`` at start (recorded only if nothing is)."""
        self.on_disk = on_disk
        self.directory = directory
        self._held: InForce | None = None
        self._lock = threading.Lock()

    def current(self, engine: Engine, connection: Connection | None = None) -> InForce:
        """The set in force now: one indexed read, and a rebuild only after a new load.

        The read is made on ``connection`` when one is given (a request's own, already in a
        transaction: no second connection, no extra round trips), else on a connection of its
        own."""
        if connection is not None:
            newest = newest_set_id(connection)
        else:
            with engine.connect() as own:
                newest = newest_set_id(own)
        held = self._held
        if held is not None and held.set_id == newest:
            return held
        with self._lock:  # one rebuild per change, whichever thread sees it first
            held = self._held
            if held is None or held.set_id != newest:
                held = self._held = self._load(engine)
        return held

    def record_if_none(self, engine: Engine) -> None:
        """Record the files found on disk as the first set in force if there is none yet.

        Done when the process starts, in a transaction of its own, so that no decision ever
        has to write (a first write in the middle of another transaction could wait on it).
        Another process may record the first set at the same moment: then theirs stands.
        """
        with Session(bind=engine) as session, suppress(ConcurrentLoad):
            ensure_recorded(session, self.on_disk)

    def _load(self, engine: Engine) -> InForce:
        self.record_if_none(engine)  # only for a process started before the database existed
        with Session(bind=engine) as session:
            revision = set_in_force(session)
            if revision is None:
                raise PolicyError("no policy set is in force")
            files = [(r.filename, r.source_text, r.sha256) for r in set_files(session, revision.id)]
            loaded = InForce(revision.id, self._rebuild(revision.id, files))
            actor, when = revision.actor, revision.loaded_at
        log.info(
            "policies in force: set revision %s (sha256 %s), loaded %s by %s",
            loaded.set_id,
            loaded.policies.sha256[:12],
            when.isoformat(),
            actor,
        )
        if loaded.policies.sha256 != self.on_disk.sha256:
            log.warning(
                "the policy files in %s differ from the set in force (revision %s); the "
                "database wins: run `flask policy reload` to put these files in force",
                self.directory,
                loaded.set_id,
            )
        return loaded

    @staticmethod
    def _rebuild(set_id: int, files: list[tuple[str, str, str]]) -> PolicySet:
        try:
            return policies_from_texts(files)
        except PolicyError as exc:
            log.error("the policy set in force (revision %s) is invalid; nothing is sent", set_id)
            raise PolicyError(
                [f"set revision {set_id}: {problem}" for problem in exc.problems]
                + ["fix the policy files and run `flask policy reload`"]
            ) from None


def policies_in_force() -> PolicySet:
    """The policy set in force for the current unit of work.

    Checked against the database on first use in each application context (a web request, a
    scheduler job, a command); long-lived loops call :func:`refresh_policies` per batch.
    """
    found = g.get(_CHECKED)
    return found if found is not None else refresh_policies()


def refresh_policies() -> PolicySet:
    """Check the database now (one indexed read) and use the set in force from here on.

    Called once per delivery batch and per campaign run; when another process loaded a new
    set, this process's copy is rebuilt from the stored texts.
    """
    return check_in_force().policies


def check_in_force(connection: Connection | None = None) -> InForce:
    """:func:`refresh_policies` with the id of the set revision it found; the database is
    read on ``connection`` when one is given (see :meth:`PoliciesInForce.current`)."""
    found = runtime().policies.current(db.engine, connection)
    setattr(g, _CHECKED, found.policies)
    return found


def policies_on_this_machine() -> PolicySet:
    """The policy files this process found in ``POLICY_DIR`` when it started."""
    return runtime().policies.on_disk


def known_purposes() -> list[str]:
    """Every purpose declared by any policy in force, in declaration order."""
    seen: dict[str, None] = {}
    for policy in policies_in_force().policies:
        seen.update(dict.fromkeys(policy.purposes))
    return list(seen)


def marketing_purposes() -> list[str]:
    """The purposes a campaign may use: direct marketing in every policy that declares them."""
    policies = policies_in_force().policies
    return [
        purpose
        for purpose in known_purposes()
        if all(p.purposes[purpose].direct_marketing for p in policies if purpose in p.purposes)
    ]


def purpose_labels(language: str = "en") -> dict[str, str]:
    """``{purpose: label}`` in ``language`` (else English, else the id), from the first policy
    that declares each purpose."""
    found: dict[str, str] = {}
    for policy in policies_in_force().policies:
        for purpose_id, purpose in policy.purposes.items():
            if purpose_id not in found:
                labels = purpose.labels
                found[purpose_id] = labels.get(language) or labels.get("en") or purpose_id
    return found


def known_channels() -> list[str]:
    """Every channel declared by any policy in force."""
    seen: dict[str, None] = {}
    for policy in policies_in_force().policies:
        seen.update(dict.fromkeys(policy.channels))
    return list(seen)


def policy_for(jurisdiction: str) -> Policy | None:
    """The policy governing ``jurisdiction`` (or the default one), else ``None``."""
    return policies_in_force().for_jurisdiction(jurisdiction)
