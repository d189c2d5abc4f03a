"""Marketing domain: customer value (RFM), next-best offers, calendar of moments, forecasts.

Importing the package registers its segment conditions (``value_tier``, ``birthday_today``)
with the campaigns' registry; :mod:`app.models` imports it with the other model modules.
"""

from app.marketing import conditions  # noqa: F401  (registers the segment conditions)
