"""One-click unsubscribe (RFC 8058) and the SMS provider's inbound webhook.

Both authenticate without a session: the signed token in the URL, or a shared secret header.
"""

from flask import Blueprint

bp = Blueprint("unsubscribe", __name__)

from app.web.unsubscribe import routes  # noqa: E402,F401
