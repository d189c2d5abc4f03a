"""Marketing domain: customer value (fitted models, classes, RFM), next-best offers, calendar,
forecasts.

Importing the package registers its segment conditions (``value_tier``, ``value_class``,
``birthday_today``, ``moment_today``) with the campaigns' registry; :mod:`app.models` imports
it with the other model modules.
"""

from app.marketing import conditions, moments  # noqa: F401  (registers the segment conditions)
