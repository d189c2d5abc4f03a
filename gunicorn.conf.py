"""gunicorn's settings for the web processes: ``gunicorn --config gunicorn.conf.py wsgi:app``.

``ASSENSO_WEB_BIND`` (default ``127.0.0.1:8000``) and ``WEB_CONCURRENCY`` (worker processes,
default 4) come from the environment. On SIGTERM the arbiter stops accepting connections and
gives requests in progress ``graceful_timeout`` seconds to finish, so every web process is gone
within 10 s. No access log: request lines carry tokens (confirmation, unsubscribe links); each
request's line comes from the application instead (endpoint, status, time, request id).

gunicorn's own lines use the application's log format (``ASSENSO_LOG_FORMAT``). The workers
share their Prometheus counters through ``PROMETHEUS_MULTIPROC_DIR``: a folder of this run
(created here and removed at exit when the variable is not set), emptied when the arbiter
starts; a worker that exits is marked dead so its live gauges go with it.
"""

import os
import shutil
import tempfile
from pathlib import Path

from app import logs
from app.settings import load_settings
from config import ConfigError

bind = os.environ.get("ASSENSO_WEB_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "4"))
graceful_timeout = 5
timeout = 30
accesslog = None
errorlog = "-"

logs.hold()
try:
    _log_format = load_settings().log_format
except ConfigError:  # the application refuses to load with the message that names it
    _log_format = "json"
logs.configure(_log_format)
logconfig_dict = logs.gunicorn_config(_log_format)

_OWN_METRICS_DIR = not os.environ.get("PROMETHEUS_MULTIPROC_DIR")
if _OWN_METRICS_DIR:
    # Set before any worker imports prometheus-client, which reads it once.
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="assenso-metrics-")


def on_starting(server):
    """Start from empty counters: files of an earlier run would be added to this one's."""
    folder = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("*.db"):
        stale.unlink()


def child_exit(server, worker):
    """Drop the live gauges of a worker that exited (its counters stay in the totals)."""
    # Imported here, after the folder is set: the workers fork from this process, and
    # prometheus-client chooses its multiprocess mode once, when it is first imported.
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    """Remove the counters' folder when this run created it."""
    if _OWN_METRICS_DIR:
        shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)
