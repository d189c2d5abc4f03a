"""WSGI entry point: ``gunicorn wsgi:app`` or ``flask --app wsgi …``.

A setting, key or policy file that cannot be used stops the start with its message on standard
error, not a traceback: each message names the setting or file to fix. The exit status is 2,
or 4 under gunicorn, the status its arbiter takes as "the application failed to load" and stops
on instead of starting worker after worker.
"""

import sys

from app import create_app
from app.policy.document import PolicyError
from config import ConfigError


def _refuse(message: str) -> None:
    print(f"Assenso cannot start: {message}", file=sys.stderr)
    sys.exit(4 if "gunicorn" in sys.modules else 2)


try:
    app = create_app()
except ConfigError as exc:  # keys included: build_runtime reports them as ConfigError
    _refuse(str(exc))
except PolicyError as exc:
    _refuse("the policy files are invalid:\n  " + "\n  ".join(exc.problems))
