"""Compliance console: the policies in force, their change history and diffs."""

from __future__ import annotations

from flask import abort, render_template, request, url_for

from app.compliance.policies import active_policies, diff_lines, revision_history
from app.compliance.tables import Column, Table
from app.extensions import db
from app.policy.models import PolicyRevision
from app.web.access import roles_required
from app.web.compliance import OFFICER, bp
from app.web.compliance.exporting import export_response, requested_format

ACTIVE_COLUMNS = (
    Column("policy_id", "Policy"),
    Column("version", "Version"),
    Column("title", "Title"),
    Column("jurisdictions", "Jurisdictions"),
    Column("default", "Default"),
    Column("purposes", "Purposes"),
    Column("file", "File"),
    Column("sha256", "SHA-256"),
)
HISTORY_COLUMNS = (
    Column("id", "Revision"),
    Column("loaded_at", "Loaded (UTC)"),
    Column("policy_id", "Policy"),
    Column("filename", "File"),
    Column("sha256", "SHA-256"),
    Column("previous_sha256", "Previous SHA-256"),
    Column("actor", "Loaded by"),
    Column("reason", "Reason"),
)


@bp.get("/policies")
@roles_required(OFFICER)
def policies():
    """Active policies with their hashes; ``?table=history`` exports the change history."""
    active = Table("active-policies", ACTIVE_COLUMNS, active_policies())
    history_rows = []
    for revision in revision_history(db.session):
        row = {c.key: getattr(revision, c.key) for c in HISTORY_COLUMNS}
        row["_links"] = {"id": url_for("compliance.policy_revision", revision_id=revision.id)}
        history_rows.append(row)
    history = Table("policy-history", HISTORY_COLUMNS, history_rows)
    fmt = requested_format()
    if fmt is not None:
        return export_response(history if request.args.get("table") == "history" else active, fmt)
    return render_template("compliance/policies.html", active=active, history=history)


@bp.get("/policies/revisions/<int:revision_id>")
@roles_required(OFFICER)
def policy_revision(revision_id: int):
    """One recorded revision: the diff from the previous one, and the full text."""
    revision = db.session.get(PolicyRevision, revision_id)
    if revision is None:
        abort(404)
    return render_template("compliance/policy_revision.html", revision=revision,
                           lines=diff_lines(revision.diff))  # fmt: skip
