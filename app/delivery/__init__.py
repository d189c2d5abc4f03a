"""Delivery: from the outbox to the relay, exactly once per idempotency key.

Pipeline (``worker.DeliveryWorker``): ``claim_batch`` leases due entries and re-checks consent
and policy in the same transaction; ``recipients`` unwraps keys and decrypts only the fields
the templates use (one vault access-log entry per purpose per batch); ``compose`` renders;
``dispatch`` hands over and delivers; ``recording`` writes outcomes.

Exactly-once argument (e-mail). An entry is in one of three durable states:

1. ``leased``, no Message-ID: claimed, nothing handed over. If the worker dies the lease
   expires and another worker claims and sends it. Nothing was delivered: the final ``.`` of
   the SMTP DATA was never sent, so the relay discarded any partial transaction.
2. ``leased`` with its Message-ID ("handed over"): committed *after* the whole content was
   transmitted and *before* the final ``.``. If the worker dies now, the relay has the message
   or gets it with the dot already on the wire; a later claim records the entry as ``sent``
   (``last_error`` notes it) and never transmits it again.
3. ``sent`` / ``failed`` / ``pending`` (retry): the outcome after the relay's reply.

Guarantee: no message is ever transmitted twice to the relay for one idempotency key (the
Message-ID is derived from the key, so even a relay-side duplicate would carry the same id).
A message can be lost only if the process dies in the microseconds between the hand-over
commit and the dot leaving the socket, or if the relay answers 4xx/5xx to the dot and the
process dies before recording it (then recorded as sent). With
``ASSENSO_WORKER_ASYNC_COMMIT`` (PostgreSQL ``synchronous_commit=off`` on the marker
connection) a crash of the *database server* may forget the last ~0.6 s of markers, which
can resend those messages; a worker crash cannot. Leases are fenced: a hand-over marks an
entry only while the lease is still this worker's (clocks assumed within the lease margin).

SMS: the marker is committed before the webhook POST, which carries ``Idempotency-Key``.
"""
