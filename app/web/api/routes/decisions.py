"""``POST /decisions`` and ``POST /decisions/batch``: may I contact these customers for this?"""

from __future__ import annotations

from spectree import Response

from app.audience import decide_customers
from app.decisions.send_check import UNKNOWN_CUSTOMER, decide_batch_at_send
from app.extensions import db
from app.models_base import utcnow
from app.policy import facts
from app.policy.decision import DENY
from app.policy.decision import Decision as PolicyDecision
from app.policy.engine import policy_error
from app.policy_sets.in_force import check_in_force, policies_in_force
from app.transaction import transaction
from app.vault.references import ids_for
from app.vault.service import log_access
from app.web.access import api_key_required
from app.web.api import bp, spec
from app.web.api.auth import actor
from app.web.api.idempotency import idempotent
from app.web.api.schemas import (
    BatchDecision,
    BatchDecisionRequest,
    ByEmail,
    ByReference,
    CustomerIdentifier,
    Decision,
    DecisionRequest,
    Intent,
)

#: What a decision reads of each customer, as the vault's access log names it.
FACTS_READ = ("consent_state", "contact_preferences", "sharing_choices", "suppressions")


def _customer_ids(session, customers) -> list[int | None]:
    """Each identifier's customer id (``None`` when unknown): one query per kind of identifier."""
    by_reference, by_email = ids_for(
        session,
        [who.reference for who in customers if isinstance(who, ByReference)],
        [who.email for who in customers if isinstance(who, ByEmail)],
    )
    return [
        by_reference.get(who.reference) if isinstance(who, ByReference) else by_email.get(who.email)
        for who in customers
    ]


def decide_for(intent: Intent, customers: list[CustomerIdentifier]) -> list[dict]:
    """The decisions of the send-time check (the campaign pipeline's), in the order asked.

    Unknown customers are denied with ``customer_unknown`` (fail closed); the reading of the
    others' facts is written to the vault's access log under the key's name.
    """
    session = db.session()
    ids = _customer_ids(session, customers)
    wanted = facts.Intent(
        intent.purpose, intent.channel, intent.at or utcnow(), frozenset(intent.template_fields)
    )
    known = [cid for cid in ids if cid is not None]
    decided = decide_batch_at_send(session, known, lambda _cid: wanted)
    policy_hash = getattr(policies_in_force(), "sha256", "")
    with transaction(session):
        log_access(
            session,
            actor=actor(),
            purpose=intent.purpose,
            fields=FACTS_READ,
            customer_count=len(set(known)),
            reason="API decision",
        )
    answers = []
    for who, cid in zip(customers, ids, strict=True):
        decision = decided.get(cid) if cid is not None else None
        answers.append(
            {
                "customer": who.model_dump(),
                "outcome": decision.outcome if decision else DENY,
                "rule_id": decision.rule_id if decision else UNKNOWN_CUSTOMER,
                "explanation": decision.explanation
                if decision
                else "the customer is unknown or erased; nothing may be sent",
                "defer_until": decision.defer_until if decision else None,
                "policy_hash": decision.policy_hash if decision else policy_hash,
            }
        )
    return answers


@bp.post("/decisions")
@api_key_required("decisions:read")
@spec.validate(resp=Response(HTTP_200=Decision), tags=["decisions"], force_resp_serialize=True)
@idempotent
def decide(json: DecisionRequest):
    """Decide one message: allow, deny or defer, with the rule, explanation and policy hash.

    Scope `decisions:read`. The same decision the campaign pipeline takes at send time.
    """
    check_in_force(db.session().connection())  # read in the call's transaction, not a second
    return decide_for(json, [json.customer])[0], 200


def _unknown(policy_hash: str) -> PolicyDecision:
    explanation = "the customer is unknown or erased; nothing may be sent"
    return PolicyDecision(DENY, UNKNOWN_CUSTOMER, explanation, policy_hash)


def decide_set_wise(intent: Intent, customers: list[CustomerIdentifier]) -> list[dict]:
    """The batch's decisions, in the order asked, equal to :func:`decide_for`'s one by one.

    References and e-mails become customer ids in one query each (their blind indexes); the
    audience decides those customers set-wise (a few statements, one engine call per class),
    failing closed as the send-time check does; the vault's access log gets one entry.
    """
    session = db.session()
    ids = _customer_ids(session, customers)
    known = {cid for cid in ids if cid is not None}
    policy_set = policies_in_force()
    wanted = facts.Intent(
        intent.purpose, intent.channel, intent.at or utcnow(), frozenset(intent.template_fields)
    )
    try:
        decided = decide_customers(
            session,
            known,
            purpose=wanted.purpose,
            channel=wanted.channel,
            at=wanted.at,
            template_fields=wanted.template_fields,
            policy_set=policy_set,
        )
    except Exception as exc:  # fail closed, as the send-time check does
        session.rollback()
        decided = dict.fromkeys(known, policy_error(policy_set, wanted, exc))
    with transaction(session):
        log_access(
            session,
            actor=actor(),
            purpose=intent.purpose,
            fields=FACTS_READ,
            customer_count=len(known),
            reason="API decision",
        )
    unknown = _unknown(getattr(policy_set, "sha256", "") or "")
    answers = []
    for who, cid in zip(customers, ids, strict=True):
        decision = decided.get(cid, unknown) if cid is not None else unknown
        answers.append(
            {
                "customer": who.model_dump(),
                "outcome": decision.outcome,
                "rule_id": decision.rule_id,
                "explanation": decision.explanation,
                "defer_until": decision.defer_until,
                "policy_hash": decision.policy_hash,
            }
        )
    return answers


@bp.post("/decisions/batch")
@api_key_required("decisions:read")
@spec.validate(resp=Response(HTTP_200=BatchDecision), tags=["decisions"], force_resp_serialize=True)
@idempotent
def decide_batch(json: BatchDecisionRequest):
    """Decide the same message for up to 1,000 customers, answered in the order asked.

    Scope `decisions:read`. Each answer is the one `POST /decisions` gives for that customer.
    """
    return {"decisions": decide_set_wise(json, json.customers)}, 200
