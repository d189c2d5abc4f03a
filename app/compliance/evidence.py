"""The evidence package for one customer: what they agreed to, the proof, and what we sent.

The package is self-contained: a regulator can read its HTML report and check every consent
receipt with the bundled offline verifier, the public key and nothing else (no database, no
running platform). See docs/evidence-package.md for its layout.

It names the customer only by pseudonymous reference: consent records and message metadata
need no personal data, so none is decrypted. Assembling it is still a look at one person's
records and is written to the vault access log with the officer's reason.
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from flask import render_template
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.customers.models import Customer
from app.errors import InvalidInput
from app.ledger.models import ConsentEvent
from app.ledger.proofs import checkpoint_covering, public_checkpoint, receipt_for
from app.models_base import utcnow
from app.outbox.models import OutboxEntry, SendLog
from app.policy_sets.models import PolicyRevision
from app.transaction import transaction
from app.vault.service import log_access

PACKAGE_FORMAT = "assenso-evidence-package/1"
EVIDENCE_PURPOSE = "compliance_evidence"
#: The modules of the offline verifier bundled into every package (pure Python, no database).
VERIFIER_MODULES = ("canonical.py", "checkpoint.py", "merkle.py", "receipt_verify.py")
MIN_REASON = 10


@dataclass(frozen=True)
class EvidencePackage:
    """The assembled evidence: one JSON-ready document (its parts are the zip's files)."""

    document: dict[str, Any]

    @property
    def customer_ref(self) -> str:
        """The pseudonymous reference the package is about."""
        return self.document["customer"]["ref"]

    @property
    def receipts(self) -> list[dict[str, Any]]:
        """Every consent receipt, in ledger order."""
        return self.document["consent_receipts"]


def _iso(moment: datetime | None) -> str | None:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None


def check_reason(reason: str | None) -> str:
    """The officer's reason, stripped; refused when missing or too short to mean anything."""
    text = (reason or "").strip()
    if len(text) < MIN_REASON:
        raise InvalidInput(
            f"Give the reason for looking at this customer's records "
            f"(at least {MIN_REASON} characters, e.g. the request or case number)."
        )
    return text[:500]


def _messages(session: Session, customer_id: int) -> list[dict[str, Any]]:
    """Every message handed over for this customer, with the decision that allowed it."""
    sent = session.execute(
        select(SendLog, OutboxEntry)
        .outerjoin(OutboxEntry, OutboxEntry.id == SendLog.outbox_id)
        .where(SendLog.customer_id == customer_id)
        .order_by(SendLog.sent_at, SendLog.id)
    )
    messages = []
    for log, entry in sent:
        messages.append(
            {
                "message": log.id,
                "sent_at": _iso(log.sent_at),
                "channel": log.channel,
                "purpose": log.purpose,
                "transactional": log.transactional,
                "outbox_entry": entry.id if entry else None,
                "kind": entry.kind if entry else ("transactional" if log.transactional else None),
                "campaign": entry.campaign_id if entry else None,
                "campaign_run": entry.run_id if entry else None,
                "variant": entry.variant if entry else None,
                "decision_rule": entry.decision_rule if entry else None,
                "policy_sha256": entry.policy_hash if entry else None,
                "provider_message_id": entry.message_id if entry else None,
            }
        )
    return messages


def _policies(session: Session, hashes: set[str]) -> list[dict[str, Any]]:
    """The policy files (exact text) whose hashes the messages cite."""
    if not hashes:
        return []
    rows = session.scalars(
        select(PolicyRevision)
        .where(PolicyRevision.sha256.in_(hashes))
        .order_by(PolicyRevision.loaded_at, PolicyRevision.id)
    )
    seen: dict[str, dict[str, Any]] = {}
    for row in rows:
        seen.setdefault(
            row.sha256,
            {
                "policy_id": row.policy_id,
                "filename": row.filename,
                "sha256": row.sha256,
                "loaded_at": _iso(row.loaded_at),
                "text": row.source_text,
            },
        )
    return list(seen.values())


def build_evidence(
    session: Session, customer: Customer, *, actor: str, reason: str | None
) -> EvidencePackage:
    """Assemble the evidence for ``customer``; the look is logged with ``reason``."""
    reason = check_reason(reason)
    events = list(
        session.scalars(
            select(ConsentEvent)
            .where(ConsentEvent.customer_ref == customer.ref)
            .order_by(ConsentEvent.seq)
        )
    )
    if events:
        # One checkpoint covers them all, so every receipt proves against the same signed head.
        checkpoint_covering(session, events[-1].seq)
    receipts = [receipt_for(session, event.record_id) for event in events]
    messages = _messages(session, customer.id)
    policies = _policies(session, {m["policy_sha256"] for m in messages if m["policy_sha256"]})
    published = public_checkpoint(session)
    with transaction(session):
        log_access(
            session,
            actor=actor,
            purpose=EVIDENCE_PURPOSE,
            fields=("consent_history", "messages_sent"),
            customer_count=1,
            customer_ref=customer.ref,
            reason=reason,
        )
    document = {
        "package_format": PACKAGE_FORMAT,
        "generated_at": _iso(utcnow()),
        "generated_by": actor,
        "reason": reason,
        "customer": {
            "ref": customer.ref,
            "jurisdiction": customer.jurisdiction,
            "customer_since": _iso(customer.customer_since or customer.created_at),
            "erased_at": _iso(customer.erased_at),
            "objected_at": _iso(customer.objected_at),
        },
        "ledger": published,
        "consent_receipts": receipts,
        "messages": messages,
        "policies": policies,
    }
    return EvidencePackage(document=document)


def _json(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False, indent=2, sort_keys=False).encode()


def readme_text(package: EvidencePackage) -> str:
    """How to read and check the package without the platform."""
    return render_template("compliance/evidence_readme.txt", doc=package.document)


def package_zip(package: EvidencePackage) -> bytes:
    """The package as a zip: JSON parts, one file per receipt, the public key, the HTML
    report, the offline verifier and a README."""
    doc = package.document
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("README.txt", readme_text(package))
        archive.writestr(
            "report.html",
            render_template("compliance/evidence_report.html", doc=doc, standalone=True),
        )
        archive.writestr("evidence.json", _json(doc))
        archive.writestr("messages.json", _json(doc["messages"]))
        archive.writestr("policies.json", _json(doc["policies"]))
        archive.writestr("checkpoint.json", _json(doc["ledger"]))
        archive.writestr("public-key.pem", doc["ledger"]["public_key_pem"])
        for receipt in doc["consent_receipts"]:
            seq, record_id = receipt["proof"]["leaf_index"], receipt["record"]["record_id"]
            archive.writestr(f"receipts/{seq:08d}-{record_id}.json", _json(receipt))
        ledger_dir = Path(__file__).resolve().parent.parent / "ledger"
        archive.writestr("verifier/app/__init__.py", "")
        archive.writestr("verifier/app/ledger/__init__.py", "")
        for module in VERIFIER_MODULES:
            archive.writestr(f"verifier/app/ledger/{module}", (ledger_dir / module).read_text())
    return buffer.getvalue()
