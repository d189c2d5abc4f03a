"""``flask`` command groups: users, demo, vault, ledger, policy, scheduler, worker, value,
purchases, api-keys.

Each group's module is imported when the group is used (run, or asked for its help), not when
the application starts: a process runs one command, and ``flask worker run`` would otherwise
hold every other command's imports (the demo's data generator, the value models, …) for as long
as it delivers.
"""

from __future__ import annotations

import importlib
from typing import NoReturn

import click
from flask import Flask
from flask_migrate.cli import db as migrate_group

from app.errors import AssensoError

#: Modules under ``app.cli`` that each define a click group (or command) named ``group``, by
#: the group's name.
COMMAND_MODULES = {
    "users": "users",
    "demo": "demo",
    "serve": "serve",
    "vault": "vault",
    "ledger": "ledger",
    "worker": "worker",
    "policy": "policy",
    "scheduler": "scheduler",
    "campaigns": "campaigns",
    "value": "value",
    "purchases": "purchases",
    "api-keys": "api_keys",
}


class Deferred(click.Command):
    """Stands for the command ``group`` of module ``app.cli.<module>`` and imports it only
    when it is run or its help is shown; the command itself parses and runs."""

    def __init__(self, name: str, module: str) -> None:
        """The command ``name``, defined in ``app.cli.<module>``."""
        super().__init__(name)
        self.module = module

    def command(self) -> click.Command:
        """The command this stands for (its module imported on first use)."""
        return importlib.import_module(f"app.cli.{self.module}").group

    def make_context(self, info_name, args, parent=None, **extra) -> click.Context:
        """The real command's context: click then invokes that command."""
        return self.command().make_context(info_name, args, parent, **extra)

    def get_short_help_str(self, limit: int = 45) -> str:
        """The real command's one-line help (for ``flask --help``)."""
        return self.command().get_short_help_str(limit)


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
    """Attach every command group to ``app.cli`` (each imported on first use), and
    ``grant-app-role`` to ``flask db``."""
    for name, module in COMMAND_MODULES.items():
        app.cli.add_command(Deferred(name, module))
    roles = importlib.import_module("app.cli.roles")
    migrate_group.add_command(roles.grant_app_role_command)
