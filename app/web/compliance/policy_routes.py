"""Compliance console: the policies in force, the history of their loads, and diffs."""

from __future__ import annotations

from flask import abort, render_template, request, url_for

from app.compliance.policies import (
    diff_lines,
    load_history,
    policies_in_force_view,
    revision_history,
)
from app.compliance.tables import Column, Table
from app.extensions import db
from app.policy_sets.models import PolicyRevision
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
PURPOSE_COLUMNS = (
    Column("policy_id", "Policy"),
    Column("purpose", "Purpose"),
    Column("lawful_basis", "Lawful basis"),
    Column("direct_marketing", "Direct marketing"),
    Column("campaigns", "Campaigns"),
    Column("transactional", "Relationship messages"),
    Column("profiling", "Profiling"),
    Column("fields", "Fields"),
)
LOAD_COLUMNS = (
    Column("id", "Set revision"),
    Column("loaded_at", "Loaded (UTC)"),
    Column("actor", "Loaded by"),
    Column("reason", "Reason"),
    Column("files", "Files"),
    Column("sha256", "Set SHA-256"),
    Column("in_force", "In force"),
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


def _history_rows() -> list[dict]:
    rows = []
    for revision in revision_history(db.session()):
        row = {c.key: getattr(revision, c.key) for c in HISTORY_COLUMNS}
        row["_links"] = {"id": url_for("compliance.policy_revision", revision_id=revision.id)}
        rows.append(row)
    return rows


@bp.get("/policies")
@roles_required(OFFICER)
def policies():
    """The set in force (as every process decides with it), its purposes and its history.

    ``?table=purposes|loads|history`` picks the table an export holds (default: the files).
    """
    view = policies_in_force_view(db.session)
    for row in view.files:
        link = url_for("compliance.policy_revision", revision_id=row["revision_id"])
        row["_links"] = {"file": link}
    tables = {
        "active": Table("active-policies", ACTIVE_COLUMNS, view.files),
        "purposes": Table("policy-purposes", PURPOSE_COLUMNS, view.purposes),
        "loads": Table("policy-loads", LOAD_COLUMNS, load_history(db.session)),
        "history": Table("policy-history", HISTORY_COLUMNS, _history_rows()),
    }
    fmt = requested_format()
    if fmt is not None:
        return export_response(tables.get(request.args.get("table", ""), tables["active"]), fmt)
    return render_template("compliance/policies.html", revision=view.revision, **tables)


@bp.get("/policies/revisions/<int:revision_id>")
@roles_required(OFFICER)
def policy_revision(revision_id: int):
    """One recorded revision: the diff from the previous one, and the full text."""
    revision = db.session.get(PolicyRevision, revision_id)
    if revision is None:
        abort(404)
    return render_template(
        "compliance/policy_revision.html", revision=revision, lines=diff_lines(revision.diff)
    )
