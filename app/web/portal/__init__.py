"""The customer preference portal."""

from flask import Blueprint
from flask_babel import lazy_gettext as _l

from app.web.navigation import register

bp = Blueprint("portal", __name__, url_prefix="/me")

for _endpoint, _label in (
    ("portal.data", _l("My data")),
    ("portal.contact", _l("How you may contact me")),
    ("portal.history", _l("History")),
    ("portal.requests", _l("My requests")),
    ("portal.account", _l("My account")),
):
    register("customer", _endpoint, _label)

from app.web.portal import account, contact, history, offers, refine, requests, routes  # noqa: E402, F401
