"""Assenso: consent-first permission marketing. ``create_app`` builds the application."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask

from config import BaseConfig, config_for


def create_app(config: BaseConfig | str | None = None, **overrides: Any) -> Flask:
    """Build and configure the Flask application.

    ``config`` is a configuration object or the name of one (development, testing,
    production); keyword ``overrides`` replace individual settings (used by tests).
    """
    app = Flask(__name__, instance_relative_config=False)
    cfg = config if isinstance(config, BaseConfig) else config_for(config)
    app.config.from_object(cfg)
    app.config.update(overrides)
    app.config["ENV_NAME"] = cfg.ENV_NAME
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)

    from app import bootstrap

    bootstrap.init_extensions(app)
    bootstrap.init_domains(app)
    bootstrap.register_blueprints(app)
    bootstrap.register_cli(app)
    return app
