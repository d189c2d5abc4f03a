"""What an operator watches: structured logs, Prometheus metrics and readiness.

:mod:`~app.logs` makes every log line of every process one JSON object (or a
readable line in development) carrying a request or job id, with e-mail addresses masked;
:mod:`~app.observability.metrics` counts what processes see (sign-in failures, request times)
across gunicorn's workers; :mod:`~app.observability.state` reads what the database holds
(decisions, outbox, ledger) at each scrape; :mod:`~app.observability.readiness` says whether
this process may take traffic.
"""
