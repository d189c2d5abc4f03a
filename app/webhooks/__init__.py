"""Webhooks: pseudonymous events for integrators, signed per the Standard Webhooks spec.

* :mod:`.outbox`: the durable outbox; events join the transaction of the change they report
  (:func:`~.outbox.enqueue`), and consent events are read from the ledger itself in order
  (:func:`~.outbox.fan_out_ledger`);
* :mod:`.delivery`: delivery workers claim due messages, oldest first and one at a time per
  customer and subscription, retry with exponential waits and disable a failing subscription;
* :mod:`.subscriptions`: subscriptions, their messages and replay.
"""
