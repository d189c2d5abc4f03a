"""Customer-value settings: defaults, environment, and a clear refusal of bad values."""

from __future__ import annotations

import pytest
from flask import Flask

from app import create_app
from app.marketing.lifetime_value import Valuation
from app.marketing.settings import value_settings
from app.settings import attach, load_settings
from config import ConfigError


def settings_of(environ: dict[str, str], **overrides):
    app = Flask(__name__)
    attach(app, load_settings("testing", overrides, environ))
    return value_settings(app)


def test_defaults_and_environment():
    assert settings_of({}).valuation == Valuation(0.3, 0.1, 36, 0.0, "week")
    assert settings_of({}).refit_days == 7
    environ = {"ASSENSO_VALUE_MARGIN_PERCENT": "45", "ASSENSO_VALUE_TIME_UNIT": "day"}
    chosen = settings_of(environ, VALUE_COST_PER_ORDER="2.5").valuation
    assert (chosen.margin, chosen.time_unit, chosen.cost_per_order) == (0.45, "day", 2.5)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("VALUE_MARGIN_PERCENT", "abc"),
        ("VALUE_MARGIN_PERCENT", "150"),
        ("VALUE_DISCOUNT_RATE_PERCENT", "-1"),
        ("VALUE_DISCOUNT_RATE_PERCENT", "nan"),
        ("VALUE_HORIZON_MONTHS", "2.5"),
        ("VALUE_HORIZON_MONTHS", "0"),
        ("VALUE_COST_PER_ORDER", "-3"),
        ("VALUE_TIME_UNIT", "month"),
        ("VALUE_REFIT_DAYS", "0"),
    ],
)
def test_a_bad_setting_stops_the_start_naming_it(name, value):
    with pytest.raises(ConfigError, match=f"ASSENSO_{name}"):
        settings_of({f"ASSENSO_{name}": value})
    with pytest.raises(ConfigError, match=f"ASSENSO_{name}"):
        create_app("testing", **{name: value})
