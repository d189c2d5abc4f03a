"""Webhooks: pseudonymous events for integrators, signed per the Standard Webhooks spec.

This package sits low (it imports only the core), so the vault and compliance can write their
events into it in the transaction of their change:

* :mod:`.models`: subscriptions, messages, attempts and the ledger cursor;
* :mod:`.outbox`: the durable outbox (:func:`~.outbox.enqueue`) and its backlog
  (:func:`~.outbox.waiting`, reported by the operator's metrics);
* :mod:`.signing`: the Standard Webhooks headers;
* :mod:`.delivery`: delivery workers claim due messages, oldest first and one at a time per
  customer and subscription, retry with exponential waits and disable a failing subscription.

What needs the ledger or manages subscriptions sits above the ledger, in :mod:`app.integrations`:
consent events are read from the ledger itself in order
(:func:`app.integrations.ledger_feed.fan_out_ledger`); subscriptions, their messages, replay and
the worker's run (:mod:`app.integrations.subscriptions`).
"""
