"""The customer-value settings of an application, as the value service uses them.

Read and checked once, when the application starts, by :mod:`app.settings`
(``ASSENSO_VALUE_*``); here they are only turned into a :class:`Valuation`.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask

from app.marketing.lifetime_value import Valuation
from app.settings import current_settings


@dataclass(frozen=True, slots=True)
class ValueSettings:
    """How customer value is computed and how often the models are refitted."""

    valuation: Valuation
    refit_days: float


def value_settings(app: Flask) -> ValueSettings:
    """The customer-value settings of ``app``."""
    settings = current_settings(app)
    valuation = Valuation(
        margin=settings.value_margin_percent / 100,
        discount_rate=settings.value_discount_rate_percent / 100,
        horizon_months=settings.value_horizon_months,
        cost_per_order=settings.value_cost_per_order,
        time_unit=settings.value_time_unit,
    )
    return ValueSettings(valuation, settings.value_refit_days)
