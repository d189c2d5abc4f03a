"""What the API and webhooks keep sealed under the vault's key-encryption keys, and opening it.

* A subscription's signing secret, bound to its URL (label ``webhook-secret``): opened only to
  sign a delivery (:func:`prepare`).
* The answer stored for an idempotent request, bound to the API key and its
  ``Idempotency-Key`` (label ``api-answer``): it may name a customer's reference or a signing
  secret.

Both use :mod:`app.vault.sealed`; ``flask vault rotate-kek`` seals them again under the active
key (:func:`reseal_all`), so an older key version can then be retired.
"""

from __future__ import annotations

import json
import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.integrations.models import IdempotentRequest
from app.runtime import runtime
from app.transaction import transaction
from app.vault.errors import VaultError
from app.vault.references import KEPT_LABEL, open_kept, references_for
from app.vault.sealed import reseal, seal, unseal
from app.webhooks.delivery import Claimed, Ready
from app.webhooks.models import WebhookMessage, WebhookSubscription

log = logging.getLogger("assenso.webhooks")
SECRET_LABEL = "webhook-secret"  # noqa: S105  (a label, not a secret)
ANSWER_LABEL = "api-answer"


def seal_secret(url: str, secret: str) -> bytes:
    """A subscription's signing secret, sealed for its URL."""
    return seal(runtime().vault_keys, SECRET_LABEL, url, secret.encode())


def open_secret(url: str, sealed: bytes) -> str:
    """The signing secret sealed by :func:`seal_secret`."""
    return unseal(runtime().vault_keys, SECRET_LABEL, url, sealed).decode()


def _answer_context(key_id: int, idempotency_key: str) -> str:
    return f"{key_id}\x00{idempotency_key}"


def seal_answer(key_id: int, idempotency_key: str, body: str) -> bytes:
    """The answer to an idempotent request, sealed for its API key and ``Idempotency-Key``."""
    context = _answer_context(key_id, idempotency_key)
    return seal(runtime().vault_keys, ANSWER_LABEL, context, body.encode())


def open_answer(key_id: int, idempotency_key: str, sealed: bytes) -> str:
    """The answer sealed by :func:`seal_answer`."""
    context = _answer_context(key_id, idempotency_key)
    return unseal(runtime().vault_keys, ANSWER_LABEL, context, sealed).decode()


def _with_reference(payload: str, reference: str | None) -> str:
    """The stored body with ``data.reference`` beside ``data.customer_id`` (when known)."""
    if reference is None:
        return payload
    body = json.loads(payload)
    data = body.get("data", {})
    body["data"] = {"customer_id": data.pop("customer_id", ""), "reference": reference, **data}
    return json.dumps(body)


def prepare(session: Session, claimed: list[Claimed]) -> dict[int, Ready]:
    """Open the claimed messages' secrets and add the customers' references to their bodies;
    a message whose secret or reference cannot be opened is left out (not sent)."""
    live, unreadable = references_for(
        session, {item.customer_ref for item in claimed if item.reference_sealed is None}
    )
    ready: dict[int, Ready] = {}
    for item in claimed:
        if item.reference_sealed is None and item.customer_ref in unreadable:
            log.warning("webhook message %s not sent: its reference cannot be opened", item.id)
            continue
        try:
            secret = open_secret(item.url, item.secret_sealed)
            if item.reference_sealed is not None:
                reference: str | None = open_kept(item.customer_ref, item.reference_sealed)
            else:
                reference = live.get(item.customer_ref)
        except VaultError as exc:
            log.warning("webhook message %s not sent: %s", item.id, type(exc).__name__)
            continue
        ready[item.id] = Ready(secret, _with_reference(item.payload, reference))
    return ready


def reseal_all(session: Session, batch_size: int = 500) -> int:
    """Seal every signing secret, stored answer and kept reference not under the active key
    again under it; the number re-sealed. Each batch is its own transaction."""
    keys = runtime().vault_keys
    done = 0
    with transaction(session):
        for subscription in session.scalars(select(WebhookSubscription)):
            fresh = reseal(keys, SECRET_LABEL, subscription.url, subscription.secret_sealed)
            if fresh is not subscription.secret_sealed:
                subscription.secret_sealed = fresh
                done += 1
    done += _reseal_rows(
        session,
        select(IdempotentRequest).where(IdempotentRequest.response_sealed.is_not(None)),
        lambda row: (
            ANSWER_LABEL,
            _answer_context(row.key_id, row.idempotency_key),
            "response_sealed",
        ),
        batch_size,
    )
    done += _reseal_rows(
        session,
        select(WebhookMessage).where(WebhookMessage.reference_sealed.is_not(None)),
        lambda row: (KEPT_LABEL, row.customer_ref, "reference_sealed"),
        batch_size,
    )
    return done


def _reseal_rows(session: Session, query, place, batch_size: int) -> int:
    keys = runtime().vault_keys
    done, after = 0, 0
    while True:
        with transaction(session):
            model = query.column_descriptions[0]["entity"]
            rows = session.scalars(
                query.where(model.id > after).order_by(model.id).limit(batch_size)
            ).all()
            for row in rows:
                label, context, column = place(row)
                blob = getattr(row, column)
                fresh = reseal(keys, label, context, blob)
                if fresh is not blob:
                    setattr(row, column, fresh)
                    done += 1
        if len(rows) < batch_size:
            return done
        after = rows[-1].id
