"""The re-check at send time: the policy decides again, on fresh facts, just before delivery.

Called by the delivery worker inside its claim transaction, so a withdrawal committed before
the claim is always honoured. Fails closed: an unknown or erased customer is denied, and any
exception while loading facts or deciding denies with rule ``policy_error`` (logged without
personal data: no ids, no values, only the kind of error).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from sqlalchemy.orm import Session

from app.decisions.facts_db import FactsError, load_facts
from app.policy.decision import DENY, Decision
from app.policy.engine import POLICY_ERROR, decide
from app.policy.facts import Intent
from app.policy.policyset import PolicySet
from app.policy_sets.in_force import policies_in_force

logger = logging.getLogger(__name__)

UNKNOWN_CUSTOMER = "customer_unknown"


def _policy_hash(policy_set: PolicySet | None) -> str:
    return getattr(policy_set, "sha256", "") or ""


def _failed(policy_set: PolicySet | None, exc: BaseException) -> Decision:
    logger.warning("send-time policy check failed (%s); denied", type(exc).__name__)
    explanation = f"evaluation failed ({type(exc).__name__}); denied to fail closed"
    return Decision(DENY, POLICY_ERROR, explanation, _policy_hash(policy_set))


def _unknown(policy_set: PolicySet) -> Decision:
    explanation = "the customer is unknown or erased; nothing may be sent"
    return Decision(DENY, UNKNOWN_CUSTOMER, explanation, _policy_hash(policy_set))


def decide_at_send(session: Session, customer_id: int, intent: Intent) -> Decision:
    """Decide ``intent`` for one customer on the facts as committed now (fail closed)."""
    return decide_batch_at_send(session, [customer_id], lambda _: intent)[customer_id]


def decide_batch_at_send(
    session: Session,
    customer_ids: Sequence[int],
    intent_for: Callable[[int], Intent],
    policy_set: PolicySet | None = None,
) -> dict[int, Decision]:
    """Decide for many customers at once; ``intent_for(customer_id)`` gives each one's intent.

    Facts are loaded in bulk as of the latest intent time (at send time every intent is
    "now"; counting a send more can only defer, never allow, a message). Every id gets a
    decision: unknown or erased customers are denied with ``customer_unknown``, and any
    failure denies with ``policy_error``.
    """
    ids = list(dict.fromkeys(customer_ids))
    if not ids:
        return {}
    try:
        policy_set = policy_set or policies_in_force()
        intents = {cid: intent_for(cid) for cid in ids}
        at = max(intent.at for intent in intents.values())
        broken: set[int] = set()
        facts = load_facts(session, ids, at=at, broken=broken)
    except Exception as exc:
        failure = _failed(policy_set, exc)
        return dict.fromkeys(ids, failure)
    decisions: dict[int, Decision] = {}
    for cid in ids:
        customer = facts.get(cid)
        if cid in broken:
            decisions[cid] = _failed(policy_set, FactsError())
        elif customer is None:
            decisions[cid] = _unknown(policy_set)
        else:
            decisions[cid] = decide(policy_set, customer, intents[cid])
    return decisions
