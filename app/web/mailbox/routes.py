"""Routes: list and read what the development mailbox received. DEVELOPMENT ONLY."""

from __future__ import annotations

from flask import abort, current_app, render_template

from app.channels.devmailbox import MailboxStore
from app.delivery.settings import mailbox_folder
from app.settings import current_settings
from app.web.access import roles_required
from app.web.mailbox import bp

# Messages show recipients' addresses and personalised text: marketers see aggregates only
# (campaign results), so the mailbox is for administrators and compliance officers.
STAFF_ROLES = ("admin", "compliance_officer")


def _store() -> MailboxStore:
    if not current_settings().dev_mailbox:
        abort(404)
    return MailboxStore(mailbox_folder(current_app))


@bp.get("/")
@roles_required(*STAFF_ROLES)
def inbox():
    """The newest messages the development mailbox received."""
    return render_template("mailbox/list.html", messages=_store().summaries())


@bp.get("/<name>")
@roles_required(*STAFF_ROLES)
def message(name: str):
    """One received message: headers, text, and its unsubscribe link."""
    found = _store().read(name)
    if found is None:
        abort(404)
    return render_template("mailbox/message.html", message=found)
