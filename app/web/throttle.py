"""Rate limits on every form that checks a password or sends mail to an address.

Each such form counts attempts per client address and per account, in the store named by
``ASSENSO_RATELIMIT_STORAGE_URI`` (Redis, shared by every web process; ``memory://`` counts
in one process only). An account is keyed by a keyed hash of the e-mail address typed in, so
the store never holds an address, and unknown addresses are limited exactly like real ones.
Password checks count only when they fail, so the owner signing in is never held back by
their own successes. The client address is the one Werkzeug's ProxyFix took from trusted
proxies only (``ASSENSO_TRUSTED_PROXY_HOPS``).
"""

from __future__ import annotations

import hashlib
import hmac
import math
import time

from flask import Flask, Response, current_app, request
from flask_babel import gettext
from flask_limiter import RateLimitExceeded
from flask_login import current_user
from limits.errors import StorageError

from app.extensions import limiter
from app.settings import current_settings
from app.web.errors import render_error

#: Scopes shared by several forms: one budget per account across all of them.
SIGN_IN_SCOPE = "account-sign-in"
MAIL_SCOPE = "account-mail"


def address_limit() -> str:
    """Sign-in and password attempts allowed per client address (``ASSENSO_LOGIN_RATE_LIMIT``)."""
    return current_settings().login_rate_limit


def account_limit() -> str:
    """Failed password checks allowed per account (``ASSENSO_ACCOUNT_RATE_LIMIT``)."""
    return current_settings().account_rate_limit


def signup_limit() -> str:
    """Sign-up and password-reset attempts per client address (``ASSENSO_SIGNUP_RATE_LIMIT``)."""
    return current_settings().signup_rate_limit


def account_mail_limit() -> str:
    """Sign-ups and reset requests per e-mail address (``ASSENSO_ACCOUNT_MAIL_RATE_LIMIT``)."""
    return current_settings().account_mail_rate_limit


def submitted_account() -> str:
    """The rate-limit key of the e-mail address in the submitted form (a keyed hash)."""
    address = request.form.get("email", "").strip().lower()
    secret = current_settings().secret_key.encode()
    digest = hmac.new(secret, b"rate-limit:" + address.encode(), hashlib.sha256)
    return "account:" + digest.hexdigest()[:32]


def signed_in_account() -> str:
    """The rate-limit key of the signed-in account (kind and pseudonymous row id)."""
    return f"{current_user.kind}:{current_user.id}"


def failed_password_check(response: Response) -> bool:
    """Counts when the password was refused (a success redirects; a refusal is not retried)."""
    return response.status_code not in (302, 429)


def accepted(response: Response) -> bool:
    """Counts when the form was accepted (a mail may have gone to the address)."""
    return response.status_code == 302


def limit_password_form(view):
    """Limit a form that checks a password of the signed-in account: per address, per account."""
    view = limiter.limit(address_limit, methods=["POST"])(view)
    return limiter.shared_limit(
        account_limit,
        scope=SIGN_IN_SCOPE,
        key_func=signed_in_account,
        methods=["POST"],
        deduct_when=failed_password_check,
    )(view)


def limit_sign_in(view):
    """Limit a sign-in form: per address, and failed attempts per typed e-mail address."""
    view = limiter.limit(address_limit, methods=["POST"])(view)
    return limiter.shared_limit(
        account_limit,
        scope=SIGN_IN_SCOPE,
        key_func=submitted_account,
        methods=["POST"],
        deduct_when=failed_password_check,
    )(view)


def limit_mail_form(view):
    """Limit a form that mails the typed address: per client address and per e-mail address."""
    view = limiter.limit(signup_limit, methods=["POST"])(view)
    return limiter.shared_limit(
        account_mail_limit,
        scope=MAIL_SCOPE,
        key_func=submitted_account,
        methods=["POST"],
        deduct_when=accepted,
    )(view)


def retry_after_seconds() -> int:
    """Seconds until the limit this request broke lets one more attempt through."""
    breached = limiter.current_limit
    if breached is None:
        return 60
    return max(1, math.ceil(breached.reset_at - time.time()))


def too_many_attempts(_exc: RateLimitExceeded):
    """429 with ``Retry-After`` and a page saying how long to wait."""
    seconds = retry_after_seconds()
    minutes = max(1, math.ceil(seconds / 60))
    message = gettext(
        "Too many attempts. For your security, please wait %(minutes)d minute(s) and try again.",
        minutes=minutes,
    )
    response = current_app.make_response(render_error(429, message))
    response.headers["Retry-After"] = str(seconds)
    return response


def store_unavailable(exc: StorageError):
    """503 when the rate-limit store cannot be reached: refuse rather than count nothing."""
    current_app.logger.error("rate-limit store unavailable (%s)", exc.__class__.__name__)
    message = gettext("This is unavailable for a moment. Please try again in a few minutes.")
    response = current_app.make_response(render_error(503, message))
    response.headers["Retry-After"] = "60"
    return response


def init_app(app: Flask) -> None:
    """Answer refused attempts and an unreachable store with their own pages."""
    app.register_error_handler(RateLimitExceeded, too_many_attempts)
    app.register_error_handler(StorageError, store_unavailable)
