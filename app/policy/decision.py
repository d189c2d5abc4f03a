"""The engine's answers: a :class:`Decision`, and for ``explain`` one :class:`RuleResult` per
rule."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

ALLOW, DENY, DEFER = "allow", "deny", "defer"
PASSED, FAILED, SKIPPED = "passed", "failed", "skipped"

#: Rule id recorded on an allow decision: every rule passed.
ALLOWED_RULE = "allowed"


@dataclass(frozen=True, slots=True)
class RuleResult:
    """How one rule judged the intent: ``passed``, ``failed`` or ``skipped`` (not applicable
    or not reachable), with a message for a human reader."""

    rule_id: str
    status: str
    message: str


@dataclass(frozen=True, slots=True)
class Decision:
    """Allow, deny or defer-until, with the deciding rule and the hash of the policy file.

    ``trace`` is filled only by ``explain``.
    """

    outcome: str
    rule_id: str
    explanation: str
    policy_hash: str
    defer_until: datetime | None = None
    trace: tuple[RuleResult, ...] = ()

    @property
    def allowed(self) -> bool:
        """Whether the message may be sent now."""
        return self.outcome == ALLOW

    @property
    def deferred(self) -> bool:
        """Whether the message may be sent, but only from ``defer_until``."""
        return self.outcome == DEFER

    @property
    def denied(self) -> bool:
        """Whether the message must not be sent."""
        return self.outcome == DENY
