"""Delivery: from the outbox to the relay, exactly once per idempotency key.

Pipeline (``worker.DeliveryWorker``): ``claim_batch`` leases due entries under a token of its
own and re-checks consent and policy in the same transaction; ``recipients`` unwraps keys and
decrypts only the fields the templates use (one vault access-log entry per purpose per
batch); ``compose`` renders; ``dispatch`` hands over and delivers; ``recorder`` writes
outcomes; ``heartbeat`` keeps the lease while the batch is in hand.

Exactly-once argument (e-mail). An entry is in one of three durable states:

1. ``leased``, no Message-ID: claimed, nothing handed over. If the worker dies the lease
   expires (it is renewed only by a live worker) and another worker claims and sends it.
   Nothing was delivered: the final ``.`` of the SMTP DATA was never sent, so the relay
   discarded any partial transaction.
2. ``leased`` with its Message-ID ("handed over"): committed *after* the whole content was
   transmitted and *before* the final ``.``. If the worker dies now, the relay has the message
   or gets it with the dot already on the wire; a later claim records the entry as ``sent``
   (``last_error`` notes it) and never transmits it again.
3. ``sent`` / ``failed`` / ``pending`` (retry): the outcome after the relay's reply. Only a 250
   to the final dot is ``sent``; a connection lost before it is a transient failure, retried.

Fencing. Every claim leases its entries under a random token, and every later write about
them (hand-over marker, lease renewal, outcome, giving entries back) names that token. A worker
that froze past its lease and resumed after another claim took its entries changes nothing,
even when the other worker runs under the same ``--id``; its staged transfers are abandoned
by closing their connections. The hand-over marker also requires an unexpired lease (clocks
assumed within a few seconds of each other).

Guarantee: for one idempotency key, no message is transmitted twice to the relay while the
relay answers, and none is recorded as sent without the relay's 250, except in two windows
that need a crash or a broken connection at one precise moment:

* the worker dies between the hand-over commit and reading the relay's reply: recorded as
  sent by the next claim (the dot may have left; it is never sent twice);
* the relay accepted the message but the connection dropped before its 250 reached us
  (RFC 1047's window): retried, so the recipient may get a second copy with the *same*
  Message-ID (derived from the key), which relays and mail readers can recognise. Losing the
  message instead would be worse: no 250, not sent.

With ``ASSENSO_WORKER_ASYNC_COMMIT`` (PostgreSQL ``synchronous_commit=off`` on the marker
connection) a crash of the *database server* may forget the last ~0.6 s of markers, which can
resend those messages; a worker crash cannot.

Consent. Every wave is re-checked just before its hand-over: a customer who withdrew, objected,
paused or was suppressed after the claim gets nothing, and on both engines every such change
committed before the hand-over commit is seen (:mod:`app.delivery.recheck`,
:mod:`app.delivery.recorder`).

SMS: the marker is committed before the webhook POST, which carries ``Idempotency-Key``.
"""
