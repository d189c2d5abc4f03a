"""Marketing domain: customer value (fitted models, classes, RFM), next-best offers, calendar,
forecasts.

Importing the package registers its segment conditions (``value_tier``, ``value_class``,
``birthday_today``) with the campaigns' registry and its next-best offers as the campaign
runs' offer source (:mod:`app.campaigns.offers`); :mod:`app.models` imports it with the other
model modules.
"""

from app.marketing import conditions, offer_service  # noqa: F401  (registered with campaigns)
