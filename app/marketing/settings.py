"""Customer-value settings: each ``app.config[NAME]``, else ``ASSENSO_<NAME>``, else the default.

Checked when the application starts (:func:`check`), so a bad value stops the start with a
message naming the variable instead of failing in a scheduled refit.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask

from app.marketing.lifetime_value import Valuation
from app.marketing.summaries import TIME_UNITS
from config import ConfigError, env

DEFAULTS: dict[str, str] = {
    "VALUE_MARGIN_PERCENT": "30",
    "VALUE_DISCOUNT_RATE_PERCENT": "10",
    "VALUE_HORIZON_MONTHS": "36",
    "VALUE_COST_PER_ORDER": "0",
    "VALUE_TIME_UNIT": "week",
    "VALUE_REFIT_DAYS": "7",
}
#: ``name: (smallest, largest)`` of each numeric setting.
RANGES: dict[str, tuple[float, float]] = {
    "VALUE_MARGIN_PERCENT": (0.0, 100.0),
    "VALUE_DISCOUNT_RATE_PERCENT": (0.0, 100.0),
    "VALUE_HORIZON_MONTHS": (1, 240),
    "VALUE_COST_PER_ORDER": (0.0, 1e9),
    "VALUE_REFIT_DAYS": (0.01, 366.0),
}


@dataclass(frozen=True, slots=True)
class ValueSettings:
    """How customer value is computed and how often the models are refitted."""

    valuation: Valuation
    refit_days: float


def _raw(app: Flask, name: str) -> str:
    value = app.config.get(name)
    if value is None:
        value = env(f"ASSENSO_{name}", DEFAULTS[name])
    return str(value).strip()


def _number(app: Flask, name: str, kind=float) -> float:
    raw = _raw(app, name)
    low, high = RANGES[name]
    try:
        value = kind(raw)
    except ValueError:
        value = None
    if value is None or value != value or not low <= value <= high:
        what = "a whole number" if kind is int else "a number"
        raise ConfigError(f"ASSENSO_{name} must be {what} from {low:g} to {high:g}, got {raw!r}")
    return value


def value_settings(app: Flask) -> ValueSettings:
    """The customer-value settings of ``app``; raises ``ConfigError`` naming a bad one."""
    unit = _raw(app, "VALUE_TIME_UNIT")
    if unit not in TIME_UNITS:
        raise ConfigError(f"ASSENSO_VALUE_TIME_UNIT must be day or week, got {unit!r}")
    valuation = Valuation(
        margin=_number(app, "VALUE_MARGIN_PERCENT") / 100,
        discount_rate=_number(app, "VALUE_DISCOUNT_RATE_PERCENT") / 100,
        horizon_months=int(_number(app, "VALUE_HORIZON_MONTHS", int)),
        cost_per_order=_number(app, "VALUE_COST_PER_ORDER"),
        time_unit=unit,
    )
    return ValueSettings(valuation, _number(app, "VALUE_REFIT_DAYS"))


def check(app: Flask) -> None:
    """Refuse to start with a customer-value setting that cannot be used."""
    value_settings(app)
