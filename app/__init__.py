"""Assenso: consent-first permission marketing. ``create_app`` builds the application."""

from __future__ import annotations

from flask import Flask

from app import logs
from app.settings import Settings, attach, load_settings, split_overrides


def create_app(
    config: Settings | str | None = None, *, web: bool = True, **overrides: object
) -> Flask:
    """Build and configure the Flask application.

    ``config`` is the settings, or the name of an environment (development, testing,
    production) whose settings are read from the environment. Keyword ``overrides`` (tests,
    benchmarks) replace settings by variable name without ``ASSENSO_`` (``SMTP_PORT=2525``),
    checked like the environment; other keys go to Flask's own ``app.config``.

    ``web=False`` builds the application without its web face (no blueprint, so none of the
    pages, the JSON API or their libraries are imported): what a delivery worker or the
    scheduler runs (``worker.py``); extensions, runtime checks and commands are the same.
    """
    logs.hold()  # a warning about the settings is written in the format they choose
    app = Flask(__name__, instance_relative_config=False)
    setting_overrides, flask_overrides = split_overrides(overrides)
    if isinstance(config, Settings):
        if setting_overrides:
            raise TypeError("give settings or setting overrides, not both")
        settings = config
    else:
        settings = load_settings(config, setting_overrides)
    attach(app, settings)
    app.config.update(flask_overrides)
    logs.configure(settings.log_format)

    from app import bootstrap

    bootstrap.init_extensions(app)
    bootstrap.init_domains(app)
    if web:
        bootstrap.register_blueprints(app)
    bootstrap.register_cli(app)
    return app
