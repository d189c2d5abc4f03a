"""Access rules: every endpoint declares who may use it; anything undeclared is refused.

Views are marked with :func:`public`, :func:`customer_required` or :func:`roles_required`. The
rule is enforced once, in a ``before_request`` hook, so forgetting a decorator cannot open a
route: an endpoint without a rule answers 403.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from flask import Flask, abort, current_app, redirect, request, url_for
from flask_login import current_user

F = TypeVar("F", bound=Callable[..., Any])

PUBLIC = "public"
ACCESS_ATTRIBUTE = "_assenso_access"
#: Where the JSON API keeps its key check, ``check(scopes) -> response or None``
#: (``app.extensions``); the API registers it, so this module needs nothing of the API.
API_KEY_CHECK = "assenso.api_key_check"


@dataclass(frozen=True, slots=True)
class ApiKeyRule:
    """The rule of a JSON API endpoint: an API key holding one of ``scopes`` (none: any key).

    No session role satisfies it: the API never accepts a signed-in browser's cookie.
    """

    scopes: tuple[str, ...]

    def __contains__(self, role: object) -> bool:
        return False


#: Where each role lands after signing in.
ROLE_HOMES = {
    "admin": "admin.home",
    "marketer": "marketing.home",
    "compliance_officer": "compliance.home",
    "customer": "portal.home",
}


def _mark(rule: str | frozenset[str] | ApiKeyRule) -> Callable[[F], F]:
    def decorate(view: F) -> F:
        setattr(view, ACCESS_ATTRIBUTE, rule)
        return view

    return decorate


def public(view: F) -> F:
    """Anyone may use this endpoint, signed in or not."""
    return _mark(PUBLIC)(view)


def roles_required(*roles: str) -> Callable[[F], F]:
    """Only signed-in users holding one of ``roles`` may use this endpoint."""
    if not roles:
        raise ValueError("roles_required needs at least one role")
    return _mark(frozenset(roles))


def customer_required(view: F) -> F:
    """Only signed-in customers may use this endpoint (the portal)."""
    return _mark(frozenset({"customer"}))(view)


def api_key_required(*scopes: str) -> Callable[[F], F]:
    """Only calls with a live API key holding one of ``scopes`` may use this endpoint."""
    return _mark(ApiKeyRule(tuple(scopes)))


def rule_for(app: Flask, endpoint: str | None) -> str | frozenset[str] | ApiKeyRule | None:
    """The declared access rule of ``endpoint``, or ``None`` when it has none."""
    if endpoint is None:
        return None
    view = app.view_functions.get(endpoint)
    if view is None:
        return None
    view_class = getattr(view, "view_class", None)
    return getattr(view, ACCESS_ATTRIBUTE, getattr(view_class, ACCESS_ATTRIBUTE, None))


def enforce_access() -> Any:
    """``before_request`` hook: deny by default, redirect anonymous users to sign in."""
    if request.endpoint is None:  # no route matched: let Flask answer 404/405
        return None
    rule = rule_for(current_app, request.endpoint)
    if rule == PUBLIC:
        return None
    if isinstance(rule, ApiKeyRule):
        return current_app.extensions[API_KEY_CHECK](rule.scopes)
    if rule is None:
        current_app.logger.error("endpoint %s has no access rule; refused", request.endpoint)
        abort(403)
    if not current_user.is_authenticated:
        if request.blueprint == "api" or request.is_json:
            abort(401)
        login = "auth.customer_login" if rule == {"customer"} else "auth.staff_login"
        return redirect(url_for(login, next=request.full_path.rstrip("?")))
    if getattr(current_user, "role", None) not in rule:
        abort(403)
    return None


def home_endpoint(user: Any) -> str:
    """The endpoint a signed-in user lands on."""
    return ROLE_HOMES.get(getattr(user, "role", ""), "public.index")
