"""``flask`` command groups: users, demo, vault, ledger, policy, scheduler, worker, value,
purchases, api-keys."""

from __future__ import annotations

import importlib
from typing import NoReturn

import click
from flask import Flask
from flask_migrate.cli import db as migrate_group

from app.errors import AssensoError

#: Modules under ``app.cli`` that each define a click group named ``group``.
COMMAND_MODULES = (
    "users",
    "demo",
    "serve",
    "vault",
    "ledger",
    "worker",
    "policy",
    "scheduler",
    "campaigns",
    "value",
    "purchases",
    "api_keys",
)


def fail(message: str, code: int = 1) -> NoReturn:
    """Print ``message`` to standard error and exit with ``code`` (no traceback)."""
    click.secho(f"Error: {message}", fg="red", err=True)
    raise SystemExit(code)


def domain_errors(func):
    """Turn domain errors into a clear message and exit code 2 instead of a traceback."""
    import functools

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except AssensoError as exc:
            fail(str(exc), 2)

    return wrapper


def register(app: Flask) -> None:
    """Attach every command group to ``app.cli``, and ``grant-app-role`` to ``flask db``."""
    for name in COMMAND_MODULES:
        module = importlib.import_module(f"app.cli.{name}")
        app.cli.add_command(module.group)
    roles = importlib.import_module("app.cli.roles")
    migrate_group.add_command(roles.grant_app_role_command)
