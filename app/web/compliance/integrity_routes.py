"""Compliance console: ledger integrity (verification runs with progress, checkpoints)."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, url_for

from app.compliance.integrity import running_verification, start_verification, verification_history
from app.compliance.tables import Column, Table
from app.extensions import db
from app.ledger.models import LedgerVerification
from app.ledger.proofs import latest_checkpoint, make_checkpoint, public_checkpoint
from app.web.access import roles_required
from app.web.compliance import OFFICER, bp, officer_actor
from app.web.compliance.exporting import export_response, requested_format

HISTORY_COLUMNS = (
    Column("id", "Run"),
    Column("started_at", "Started (UTC)"),
    Column("finished_at", "Finished (UTC)"),
    Column("outcome", "Outcome"),
    Column("tree_size", "Ledger size"),
    Column("checked", "Entries checked"),
    Column("first_bad_seq", "First bad entry"),
    Column("message", "Findings"),
    Column("actor", "Started by"),
)


def _outcome(run: LedgerVerification) -> str:
    if run.finished_at is None:
        return "running"
    return "passed" if run.ok else "FAILED"


def _history_table() -> Table:
    rows = []
    for run in verification_history(db.session()):
        row = {c.key: getattr(run, c.key, None) for c in HISTORY_COLUMNS}
        row["outcome"] = _outcome(run)
        row["_links"] = {"id": url_for("compliance.verification", verification_id=run.id)}
        rows.append(row)
    return Table("ledger-verifications", HISTORY_COLUMNS, rows)


@bp.get("/integrity")
@roles_required(OFFICER)
def integrity():
    """The latest signed checkpoint, the run in progress and the history of verifications."""
    table = _history_table()
    fmt = requested_format()
    if fmt is not None:
        return export_response(table, fmt)
    return render_template(
        "compliance/integrity.html",
        published=public_checkpoint(db.session),
        checkpoint=latest_checkpoint(db.session),
        running=running_verification(db.session),
        table=table,
    )


@bp.post("/integrity/verify")
@roles_required(OFFICER)
def verify():
    """Start a verification of the whole ledger (or join the one running)."""
    run = start_verification(current_app._get_current_object(), db.session, officer_actor())
    return redirect(url_for("compliance.verification", verification_id=run.id), code=303)


@bp.post("/integrity/checkpoint")
@roles_required(OFFICER)
def checkpoint():
    """Sign a checkpoint of the ledger as it is now (when it grew since the last one)."""
    row = make_checkpoint(db.session, only_if_grown=True)
    if row is None:
        flash("The latest checkpoint already covers the whole ledger.", "info")
    else:
        flash(f"Signed a checkpoint of {row.tree_size} entries.", "success")
    return redirect(url_for("compliance.integrity"), code=303)


@bp.get("/integrity/runs/<int:verification_id>")
@roles_required(OFFICER)
def verification(verification_id: int):
    """One verification: a progress bar while it runs (the page refreshes itself), then
    its findings."""
    run = db.session.get(LedgerVerification, verification_id)
    if run is None:
        abort(404)
    if run.finished_at is not None:
        percent = 100
    else:
        percent = 100 * run.checked // run.tree_size if run.tree_size else 0
    return render_template(
        "compliance/verification.html", run=run, outcome=_outcome(run), percent=percent
    )
