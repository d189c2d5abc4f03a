"""What integrators set up and what feeds them: API keys and their idempotency records,
webhook subscriptions, and the ledger's feed into the webhook outbox.

It sits above the ledger (the feed reads consent events) and below the delivery worker, which
runs :func:`app.integrations.subscriptions.run_webhooks`. The low :mod:`app.webhooks` package
(messages, outbox, signing, HTTP delivery) is what the vault and compliance write to.
"""
