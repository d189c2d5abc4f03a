"""Applying the policy to stored customers, one at a time.

* the facts of stored customers, read in bulk (:mod:`.facts_db`);
* the send-time re-check (:mod:`.send_check`).

Deciding is the pure engine's (:mod:`app.policy`), under the set in force
(:mod:`app.policy_sets`); a whole audience at once is :mod:`app.audience`.
"""
