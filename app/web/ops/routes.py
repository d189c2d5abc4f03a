"""``/metrics`` and ``/readyz``: open only to the networks and token the operator allows.

A client reaches them from an address in ``ASSENSO_OPS_NETWORKS`` (this machine only by
default; the address is the one trusted proxies report, ``ASSENSO_TRUSTED_PROXY_HOPS``), or
from anywhere with ``Authorization: Bearer <ASSENSO_OPS_TOKEN>``. Anyone else gets 403.
"""

from __future__ import annotations

import hmac
from ipaddress import ip_address

from flask import abort, current_app, jsonify, request

from app.extensions import db
from app.observability.exposition import CONTENT_TYPE, scrape
from app.observability.readiness import readiness
from app.settings import current_settings
from app.web.access import public
from app.web.ops import bp


def operator_allowed() -> bool:
    """Whether this request comes from an allowed network or carries the operator's token."""
    settings = current_settings()
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    expected = (settings.ops_token or "").encode()
    if expected and scheme.lower() == "bearer" and hmac.compare_digest(token.encode(), expected):
        return True
    try:
        client = ip_address(request.remote_addr or "")
    except ValueError:
        return False
    mapped = getattr(client, "ipv4_mapped", None)
    client = mapped or client
    return any(client in network for network in settings.ops_networks)


def _require_operator() -> None:
    if not operator_allowed():
        abort(403)


@bp.get("/metrics")
@public
def metrics():
    """Prometheus metrics: this machine's counters and the database's state."""
    _require_operator()
    return scrape(db.engine), 200, {"Content-Type": CONTENT_TYPE}


@bp.get("/readyz")
@public
def ready():
    """200 when this process may take traffic; 503 naming the checks that failed."""
    _require_operator()
    results = readiness(current_app._get_current_object())
    failed = [name for name, passed in results.items() if not passed]
    checks = {name: "ok" if passed else "failed" for name, passed in results.items()}
    if failed:
        return jsonify(status="not ready", failed=failed, checks=checks), 503
    return jsonify(status="ready", checks=checks)
