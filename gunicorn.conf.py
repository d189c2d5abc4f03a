"""gunicorn's settings for the web processes: ``gunicorn --config gunicorn.conf.py wsgi:app``.

``ASSENSO_WEB_BIND`` (default ``127.0.0.1:8000``) and ``WEB_CONCURRENCY`` (worker processes,
default 4) come from the environment. On SIGTERM the arbiter stops accepting connections and
gives requests in progress ``graceful_timeout`` seconds to finish, so every web process is gone
within 10 s. No access log: request lines carry tokens (confirmation, unsubscribe links).
"""

import os

bind = os.environ.get("ASSENSO_WEB_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "4"))
graceful_timeout = 5
timeout = 30
accesslog = None
errorlog = "-"
