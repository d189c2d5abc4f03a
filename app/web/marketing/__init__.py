"""The marketer console (role marketer): campaigns, forecasts, results, value, offers, calendar.

Every page shows aggregates or placeholder previews only, never an individual customer.
"""

from flask import Blueprint

from app.web.navigation import register

bp = Blueprint("marketing", __name__, url_prefix="/marketing")
MARKETER = "marketer"

for _endpoint, _label in (
    ("marketing.campaigns", "Campaign list"),
    ("marketing.new_campaign", "New campaign"),
    ("marketing.values", "Customer value"),
    ("marketing.offers", "Offers"),
    ("marketing.calendar", "Calendar"),
):
    register(MARKETER, _endpoint, _label)

from app.web.marketing import campaign_routes, offer_routes, report_routes, routes  # noqa: E402, F401
