"""Checking the API key of a call: bearer token, scopes, the key's rate limit.

Runs in the access hook (:mod:`app.web.access`) before anything else of the call. Cookies are
never looked at: a signed-in browser without a key is refused like anyone else.
"""

from __future__ import annotations

import math
import time

from flask import Response, g, request
from limits import parse as parse_limit

from app.extensions import db, limiter
from app.integrations.api_keys import AuthenticatedKey, authenticate
from app.settings import current_settings
from app.web.problems import problem_response

_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="assenso-api"'}


def current_key() -> AuthenticatedKey:
    """The key of the current call (set by :func:`check_key`)."""
    key: AuthenticatedKey = g.api_key
    return key


def actor() -> str:
    """How the vault's access log and the ledger name the caller: the key's name."""
    return f"api-key:{current_key().name}"


def check_key(scopes: tuple[str, ...]) -> Response | None:
    """``None`` when the call carries a live key holding one of ``scopes``; else the problem."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return problem_response(
            401, "Send an API key as 'Authorization: Bearer <key>'.", headers=_CHALLENGE
        )
    key = authenticate(db.session(), token.strip())
    if key is None:
        return problem_response(
            401, "The API key is unknown, revoked or expired.", headers=_CHALLENGE
        )
    if scopes and not key.scopes & set(scopes):
        return problem_response(
            403,
            f"This key lacks the scope this call needs: {' or '.join(scopes)}.",
            kind="insufficient-scope",
            required_scopes=list(scopes),
        )
    refused = _rate_limited(key)
    if refused is not None:
        return refused
    g.api_key = key
    return None


def _rate_limited(key: AuthenticatedKey) -> Response | None:
    """Count the call against the key's limit (shared by every process through the store)."""
    if not limiter.enabled:
        return None
    settings = current_settings()
    limit = parse_limit(key.rate_limit or settings.api_rate_limit)
    identity = (settings.ratelimit_key_prefix, "api-key", key.public_id)
    if limiter.limiter.hit(limit, *identity):
        return None
    reset = limiter.limiter.get_window_stats(limit, *identity).reset_time
    seconds = max(1, math.ceil(reset - time.time()))
    return problem_response(
        429,
        f"This key's limit of {limit} was reached; retry in {seconds} s.",
        headers={"Retry-After": str(seconds)},
    )
