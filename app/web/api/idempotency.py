"""``Idempotency-Key`` on every POST: a retried request is answered, never acted on twice.

The key (per API key) and a fingerprint of the request are stored before the call acts, in a
transaction of their own; the answer is stored when it is known. A retry with the same key and
the same request gets the stored answer (``Idempotent-Replayed: true``); with another request,
422; while the first is still being handled, 409. A call that fails with a server error forgets
the key, so it may be retried. State is in the database: every process answers alike.

The answer is stored sealed under the vault's keys (:mod:`app.integrations.sealing`). A record
lasts ``API_IDEMPOTENCY_RETENTION_HOURS``; a retry after that is a new request
(:mod:`app.integrations.idempotency_records`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from datetime import datetime
from functools import wraps
from typing import Any

from flask import Response, current_app, request
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from app.errors import AssensoError
from app.extensions import db
from app.integrations.idempotency_records import expired, renew_expired
from app.integrations.models import IdempotentRequest
from app.integrations.sealing import open_answer, seal_answer
from app.models_base import utcnow
from app.settings import current_settings
from app.transaction import transaction
from app.web.api.auth import current_key
from app.web.problems import PROBLEM_TYPE, ApiProblem, problem_body

HEADER = "Idempotency-Key"
MAX_KEY = 255


def fingerprint() -> str:
    """HMAC-SHA-256 of the method, path and JSON body (keys sorted, so spacing does not count).

    Keyed with the application's secret key: a small body (a decision asked by e-mail address)
    could otherwise be guessed back from a plain hash kept in the database.
    """
    body = request.get_json(silent=True)
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    text = f"{request.method} {request.path}\n{canonical}"
    secret = current_app.secret_key
    key = secret.encode() if isinstance(secret, str) else bytes(secret or b"")
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


def _claim(key_id: int, idem_key: str, print_: str, renew: bool = True) -> IdempotentRequest | None:
    """Claim the key (``None``) or return the earlier request made with it (unexpired)."""
    session = db.session()
    try:
        with transaction(session):
            session.add(
                IdempotentRequest(key_id=key_id, idempotency_key=idem_key, fingerprint=print_)
            )
    except IntegrityError:
        session.rollback()
    else:
        return None
    earlier = session.scalar(
        select(IdempotentRequest).where(
            IdempotentRequest.key_id == key_id, IdempotentRequest.idempotency_key == idem_key
        )
    )
    if renew and earlier is not None and expired(earlier, utcnow(), current_settings()):
        renew_expired(session, earlier)
        return _claim(key_id, idem_key, print_, renew=False)
    return earlier


def _replay(earlier: IdempotentRequest, print_: str) -> Response:
    if earlier.status_code is None:
        raise ApiProblem(
            409,
            "A request with this Idempotency-Key is still being handled; retry later.",
            kind="idempotency-key-in-use",
            headers={"Retry-After": "1"},
        )
    if earlier.fingerprint != print_:
        raise ApiProblem(
            422,
            "This Idempotency-Key was used with a different request.",
            kind="idempotency-key-reused",
        )
    mimetype = PROBLEM_TYPE if earlier.status_code >= 400 else "application/json"
    sealed = earlier.response_sealed
    body = open_answer(earlier.key_id, earlier.idempotency_key, sealed) if sealed else ""
    response = current_app.response_class(body, status=earlier.status_code, mimetype=mimetype)
    response.headers["Idempotent-Replayed"] = "true"
    return response


def _settle(key_id: int, idem_key: str, status: int, body: str | None) -> None:
    session = db.session()
    with transaction(session):
        row = session.scalar(
            select(IdempotentRequest).where(
                IdempotentRequest.key_id == key_id, IdempotentRequest.idempotency_key == idem_key
            )
        )
        if row is not None:
            row.status_code = status
            row.response_sealed = None if body is None else seal_answer(key_id, idem_key, body)


def _forget(key_id: int, idem_key: str) -> None:
    session = db.session()
    session.rollback()
    with transaction(session):
        session.execute(
            delete(IdempotentRequest).where(
                IdempotentRequest.key_id == key_id, IdempotentRequest.idempotency_key == idem_key
            )
        )


def _iso(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"cannot store {type(value).__name__} in an answer")


def idempotent(view: Callable[..., Any]) -> Callable[..., Any]:
    """Honour ``Idempotency-Key`` on ``view``, which returns ``(payload, status)``."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        idem_key = request.headers.get(HEADER)
        if idem_key is None:
            return view(*args, **kwargs)
        if not 0 < len(idem_key) <= MAX_KEY or not idem_key.isascii() or not idem_key.isprintable():
            raise ApiProblem(400, f"{HEADER} must be 1 to {MAX_KEY} printable ASCII characters.")
        key_id, print_ = current_key().id, fingerprint()
        earlier = _claim(key_id, idem_key, print_)
        if earlier is not None:
            return _replay(earlier, print_)
        try:
            payload, status = view(*args, **kwargs)
        except (ApiProblem, AssensoError) as exc:
            if exc.status >= 500 or exc.status == 429:
                _forget(key_id, idem_key)
            else:
                extra = exc.extra if isinstance(exc, ApiProblem) else {}
                kind = exc.kind if isinstance(exc, ApiProblem) else None
                problem = problem_body(exc.status, str(exc), kind=kind, **extra)
                _settle(key_id, idem_key, exc.status, json.dumps(problem))
            raise
        except Exception:
            _forget(key_id, idem_key)
            raise
        body = json.dumps(payload, default=_iso)
        _settle(key_id, idem_key, status, body)
        return payload, status

    return wrapper
