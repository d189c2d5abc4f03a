"""A consistent set of policies and which one governs each jurisdiction."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from types import MappingProxyType

from app.policy.decision import Decision
from app.policy.document import Policy, PolicyError
from app.policy.plan import Plan


class PolicySet:
    """The loaded policies, indexed by jurisdiction.

    A jurisdiction no policy claims falls back to the default policy only when one is declared
    (a file with ``default: true`` or the ``default`` argument); otherwise it has no policy and
    the engine denies. ``sha256`` identifies the whole set (used when no single policy applies).
    """

    __slots__ = ("_plans", "by_id", "by_jurisdiction", "default", "policies", "sha256")

    def __init__(self, policies: Iterable[Policy], default: str | None = None) -> None:
        self.policies: tuple[Policy, ...] = tuple(policies)
        problems: list[str] = []
        by_id: dict[str, Policy] = {}
        by_jurisdiction: dict[str, Policy] = {}
        for policy in self.policies:
            where = policy.path or policy.policy_id
            if policy.policy_id in by_id:
                problems.append(f"{where}: policy_id {policy.policy_id!r} is used by two files")
            by_id[policy.policy_id] = policy
            for code in policy.jurisdictions:
                other = by_jurisdiction.get(code)
                if other is not None:
                    problems.append(
                        f"{where}: /jurisdictions: {code} is already claimed by "
                        f"{other.path or other.policy_id}"
                    )
                by_jurisdiction[code] = policy
        self.default: Policy | None = self._pick_default(by_id, default, problems)
        if problems:
            raise PolicyError(problems)
        self.by_id: Mapping[str, Policy] = MappingProxyType(by_id)
        self.by_jurisdiction: Mapping[str, Policy] = MappingProxyType(by_jurisdiction)
        lines = sorted(f"{p.policy_id}:{p.sha256}" for p in self.policies)
        self.sha256: str = hashlib.sha256("\n".join(lines).encode()).hexdigest()
        self._plans: dict[tuple[str, str, str], Plan | Decision] = {}

    def _pick_default(
        self, by_id: Mapping[str, Policy], default: str | None, problems: list[str]
    ) -> Policy | None:
        declared = [p for p in self.policies if p.default]
        if default is not None:
            if default not in by_id:
                problems.append(f"unknown default policy {default!r}")
            return by_id.get(default)
        if len(declared) > 1:
            names = ", ".join(p.path or p.policy_id for p in declared)
            problems.append(f"/default: more than one policy declares itself default: {names}")
            return None
        return declared[0] if declared else None

    def for_jurisdiction(self, code: str) -> Policy | None:
        """The policy governing ``code``, the default policy, or ``None`` (engine denies)."""
        policy = self.by_jurisdiction.get(code)
        return policy if policy is not None else self.default

    def __repr__(self) -> str:
        ids = ", ".join(p.policy_id for p in self.policies)
        return f"<PolicySet {ids} sha256={self.sha256[:12]}>"
