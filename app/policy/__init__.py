"""The policy engine: versioned rule files and a pure, fail-closed decision engine.

Policies are YAML files in ``policies/`` validated against ``policies/schema.json``
(:func:`load_policy`, :func:`load_policies`, :func:`check_policies`). Given a
:class:`PolicySet`, a customer's :class:`CustomerFacts` and an :class:`Intent`,
:func:`decide` answers allow, deny or defer-until with the deciding rule and the policy
file's hash; :func:`explain` adds a rule-by-rule trace; :func:`prefilter_for` describes the
coarse conditions that the audience query pushes into SQL.

Everything here is pure: no Flask, no database. The database side is apart and not imported
here: ``app.policy.models`` (loaded file revisions and set revisions), ``app.policy.revisions``
(recording a load) and ``app.policy.in_force`` (each process's copy of the set in force).
"""

from app.policy.decision import ALLOWED_RULE, Decision, RuleResult
from app.policy.engine import count_outcomes, decide, decide_many, explain
from app.policy.explain import RULE_ORDER
from app.policy.facts import ConsentFact, ContactWindow, CustomerFacts, Intent
from app.policy.loader import check_policies, load_policies, load_policy, policy_from_bytes
from app.policy.model import (
    PROFILE_FIELDS,
    Channel,
    Policy,
    PolicyError,
    Purpose,
    QuietHours,
    Settings,
)
from app.policy.policyset import PolicySet
from app.policy.prefilter import PREFILTER_RULES, PYTHON_RULES, Prefilter, prefilter_for

__all__ = [
    "ALLOWED_RULE",
    "PREFILTER_RULES",
    "PROFILE_FIELDS",
    "PYTHON_RULES",
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
    "Prefilter",
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
    "prefilter_for",
]
