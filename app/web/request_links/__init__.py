"""Links e-mailed to the person behind a data-subject request: confirm it, download the export.

No sign-in: the signed, expiring link decides (it went to the address on file). Every page
shows one button; following a link never changes anything by itself (mail scanners fetch
links), the button's POST does.
"""

from flask import Blueprint

bp = Blueprint("request_links", __name__, url_prefix="/my-request")

from app.web.request_links import routes  # noqa: E402,F401
