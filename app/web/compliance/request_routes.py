"""Compliance console: request_routes (being built).

Register this module's navigation entries with app.web.navigation.register(OFFICER, ...).
"""

from app.web.compliance import OFFICER, bp  # noqa: F401
