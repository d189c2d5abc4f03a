"""The compliance dashboards' panels, in display order, by the key an export names."""

from __future__ import annotations

from sqlalchemy.orm import Session

from app.compliance.dashboard_trends import consent_rate_trend, time_to_close
from app.compliance.dashboards import (
    Panel,
    consent_rates,
    denied_sends,
    expiring_soon,
    request_volume,
    weekly_consent_activity,
)

PANELS = {
    "consent-rates": consent_rates,
    "consent-rate-trend": consent_rate_trend,
    "consent-activity": weekly_consent_activity,
    "expiring": expiring_soon,
    "denied": denied_sends,
    "requests": request_volume,
    "time-to-close": time_to_close,
}


def all_panels(session: Session) -> list[Panel]:
    """Every dashboard panel, in display order."""
    return [build(session) for build in PANELS.values()]
