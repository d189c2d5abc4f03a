"""The application's settings: one typed, checked object per application.

:class:`Settings` declares every setting once (:mod:`app.settings.catalogue`); :func:`load_settings`
reads them from the environment when the application is created; :func:`current_settings` is
the one way the application reads them. Flask's own ``app.config`` is filled from the same
object (:mod:`app.settings.flask_config`) for Flask and its extensions.
"""

from __future__ import annotations

from collections.abc import Mapping

from flask import Flask, current_app

from app.settings.catalogue import Settings
from app.settings.flask_config import flask_config
from app.settings.load import declarations, load_settings, override_name

__all__ = ["Settings", "attach", "current_settings", "load_settings", "split_overrides"]

SETTINGS_KEY = "assenso.settings"


def split_overrides(overrides: Mapping[str, object]) -> tuple[dict, dict]:
    """Separate a test's overrides into settings (``SMTP_PORT``) and Flask's own keys
    (``WTF_CSRF_ENABLED``); a key Flask gets from a setting is refused, naming the setting."""
    names = {override_name(spec) for spec in declarations().values()}
    settings = {key: value for key, value in overrides.items() if key in names}
    flask = {key: value for key, value in overrides.items() if key not in names}
    derived = {
        "SQLALCHEMY_DATABASE_URI": "DATABASE_URL",
        "SQLALCHEMY_BINDS": "KEYSTORE_URL",
        "RATELIMIT_STORAGE_OPTIONS": "RATELIMIT_KEY_PREFIX",
    }
    for key in flask.keys() & derived.keys():
        raise TypeError(f"{key} comes from a setting: override {derived[key]} instead")
    return settings, flask


def attach(app: Flask, settings: Settings) -> None:
    """Make ``settings`` the settings of ``app`` and fill ``app.config`` from them."""
    app.extensions[SETTINGS_KEY] = settings
    app.config.update(flask_config(settings))


def current_settings(app: Flask | None = None) -> Settings:
    """The settings of ``app``, by default of the current application."""
    return (app or current_app).extensions[SETTINGS_KEY]
