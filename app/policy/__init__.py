"""The policy engine: versioned rule files and a pure, fail-closed decision engine.

Policies are YAML files in ``policies/`` validated against ``policies/schema.json``
(:func:`load_policy`, :func:`load_policies`, :func:`check_policies`). Given a
:class:`PolicySet`, a customer's :class:`CustomerFacts` and an :class:`Intent`,
:func:`decide` answers allow, deny or defer-until with the deciding rule and the policy
file's hash; :func:`explain` adds a rule-by-rule trace.

Everything here is pure: no Flask, no database (an import-linter contract keeps it so).
Applying the policy to stored customers is :mod:`app.decisions`; deciding a whole audience
in SQL is :mod:`app.audience`.
"""

from app.policy.decision import ALLOWED_RULE, Decision, RuleResult
from app.policy.document import (
    PROFILE_FIELDS,
    Channel,
    Policy,
    PolicyError,
    Purpose,
    QuietHours,
    Settings,
)
from app.policy.engine import count_outcomes, decide, decide_many, explain
from app.policy.facts import ConsentFact, ContactWindow, CustomerFacts, Intent
from app.policy.loader import check_policies, load_policies, load_policy, policy_from_bytes
from app.policy.policyset import PolicySet
from app.policy.trace import RULE_ORDER

__all__ = [
    "ALLOWED_RULE",
    "PROFILE_FIELDS",
    "RULE_ORDER",
    "Channel",
    "ConsentFact",
    "ContactWindow",
    "CustomerFacts",
    "Decision",
    "Intent",
    "Policy",
    "PolicyError",
    "PolicySet",
    "Purpose",
    "QuietHours",
    "RuleResult",
    "Settings",
    "check_policies",
    "count_outcomes",
    "decide",
    "decide_many",
    "explain",
    "load_policies",
    "load_policy",
    "policy_from_bytes",
]
