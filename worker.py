"""Entry point of the delivery workers: ``flask --app worker worker run``.

The application is built without its blueprints (``create_app(web=False)``): a delivery worker
serves no page and builds no link to one, and the pages, the JSON API and their libraries would
otherwise stay resident in every worker process (about 13 MB). A setting, key or policy file
that cannot be used stops the start with its message on standard error, as in ``wsgi.py``.
"""

import sys

from app import create_app
from app.policy.document import PolicyError
from config import ConfigError


def _refuse(message: str) -> None:
    print(f"Assenso cannot start: {message}", file=sys.stderr)
    sys.exit(2)


try:
    app = create_app(web=False)
except ConfigError as exc:  # keys included: build_runtime reports them as ConfigError
    _refuse(str(exc))
except PolicyError as exc:
    _refuse("the policy files are invalid:\n  " + "\n  ".join(exc.problems))
