"""Notices in force, and consent given or withdrawn through an integrator, with receipts."""

from __future__ import annotations

from spectree import Response

from app.errors import NotFound
from app.extensions import db
from app.ledger import consent as ledger
from app.ledger.models import ConsentState
from app.ledger.notices import current_notice
from app.ledger.proofs import receipt_for
from app.policy_sets.in_force import check_in_force, known_purposes
from app.self_service.consents import ACTIVE, check_choices, notice_shown, purpose_label
from app.self_service.mail import send_confirmations
from app.web.access import api_key_required
from app.web.api import bp, spec
from app.web.api.auth import actor
from app.web.api.customers import resolve
from app.web.api.idempotency import idempotent
from app.web.api.schemas import (
    ConsentGrant,
    ConsentRecorded,
    ConsentWithdrawal,
    NoticeList,
    NoticeQuery,
)
from app.web.api.schemas import Evidence as EvidenceIn

SOURCE, METHOD = "api", "api"


def _evidence(given: EvidenceIn) -> ledger.Evidence:
    return ledger.Evidence(
        ip_address=str(given.ip_address) if given.ip_address else None,
        user_agent=given.user_agent,
        at=given.at.isoformat() if given.at else None,
    )


@bp.get("/notices")
@api_key_required("consent:write")
@spec.validate(resp=Response(HTTP_200=NoticeList), tags=["consent"], force_resp_serialize=True)
def notices(query: NoticeQuery):
    """The notices in force, per purpose, in a language (English where none is published).

    Scope `consent:write`. Show the notice to the customer and cite its id when recording.
    """
    session = db.session()
    purposes = [query.purpose] if query.purpose else known_purposes()
    items = []
    for purpose in purposes:
        try:
            notice = current_notice(session, purpose, query.language)
        except NotFound:
            if query.purpose:
                raise
            continue  # a purpose without a notice is not offered yet
        items.append(
            {
                "id": notice.id,
                "purpose": notice.purpose,
                "language": notice.language,
                "version": notice.version,
                "title": notice.title,
                "text": notice.text,
                "sha256": notice.sha256,
                "effective_at": notice.effective_at,
            }
        )
    return {"items": items}, 200


@bp.post("/consents")
@api_key_required("consent:write")
@spec.validate(resp=Response(HTTP_201=ConsentRecorded), tags=["consent"], force_resp_serialize=True)
@idempotent
def give_consent(json: ConsentGrant):
    """Record consent given after reading the notice ``notice_id`` (the one in force, else
    409), with the evidence; answers with the receipt. Where the channel needs double opt-in
    the consent is pending and the customer is sent the confirmation link.

    Scope `consent:write`.
    """
    session = db.session()
    check_in_force(session.connection())  # read in the call's transaction, not a second
    customer = resolve(session, json.customer)
    check_choices(customer.jurisdiction, [(json.purpose, json.channel)])
    notice = notice_shown(session, json.purpose, json.notice_id)
    event, token = ledger.grant(
        session,
        customer,
        purpose=json.purpose,
        channel=json.channel,
        notice=notice,
        source=SOURCE,
        method=METHOD,
        actor=actor(),
        evidence=_evidence(json.evidence),
    )
    if token:
        label = purpose_label(customer, json.purpose)
        send_confirmations(session, customer, [(label, json.channel, token)])
    return {
        "status": "pending" if token else "granted",
        "record_id": event.record_id,
        "receipt": receipt_for(session, event.record_id),
    }, 201


@bp.post("/consents/withdrawals")
@api_key_required("consent:write")
@spec.validate(resp=Response(HTTP_201=ConsentRecorded), tags=["consent"], force_resp_serialize=True)
@idempotent
def withdraw_consent(json: ConsentWithdrawal):
    """Record that the customer withdrew consent (or a pending request), with the evidence;
    answers with the receipt, or ``unchanged`` when nothing was given.

    Scope `consent:write`. Effective for every message claimed after the answer.
    """
    session = db.session()
    check_in_force(session.connection())  # read in the call's transaction, not a second
    customer = resolve(session, json.customer)
    check_choices(customer.jurisdiction, [(json.purpose, json.channel)])
    state = session.get(ConsentState, (customer.id, json.purpose, json.channel))
    if state is None or state.status not in ACTIVE:
        return {"status": "unchanged", "record_id": None, "receipt": None}, 201
    event = ledger.withdraw(
        session,
        customer,
        purpose=json.purpose,
        channel=json.channel,
        source=SOURCE,
        method=METHOD,
        actor=actor(),
        evidence=_evidence(json.evidence),
    )
    return {
        "status": "withdrawn",
        "record_id": event.record_id,
        "receipt": receipt_for(session, event.record_id),
    }, 201
