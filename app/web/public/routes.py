"""Routes anyone may open."""

from __future__ import annotations

from flask import jsonify, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import text

from app.extensions import db
from app.web.access import home_endpoint, public
from app.web.public import bp


@bp.get("/")
@public
def index():
    """Landing page; signed-in users go straight to their own home."""
    if current_user.is_authenticated:
        return redirect(url_for(home_endpoint(current_user)))
    return render_template("public/index.html")


@bp.get("/healthz")
@public
def health():
    """Liveness and database reachability for load balancers (no internals disclosed)."""
    db.session.execute(text("SELECT 1"))
    return jsonify(status="ok")


@bp.get("/ledger/checkpoint")
@public
def ledger_checkpoint():
    """The latest signed checkpoint and the public key, for anyone to hold us to them."""
    from app.ledger.proofs import public_checkpoint

    return jsonify(public_checkpoint(db.session))


@bp.get("/ledger/public-key.pem")
@public
def ledger_public_key():
    """The checkpoint-signing public key (PEM), for offline receipt verification."""
    from app.ledger.proofs import public_checkpoint

    pem = public_checkpoint(db.session)["public_key_pem"]
    return pem, 200, {"Content-Type": "application/x-pem-file; charset=utf-8"}
