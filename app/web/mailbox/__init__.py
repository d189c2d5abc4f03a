"""The development mailbox page (staff only, 404 unless ``DEV_MAILBOX`` is on)."""

from flask import Blueprint

bp = Blueprint("mailbox", __name__, url_prefix="/dev/mailbox")

from app.web.mailbox import routes  # noqa: E402,F401
