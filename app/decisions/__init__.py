"""Applying the policy to stored customers, one at a time.

* the policy set in force: the loaded revisions the database records (:mod:`.models`,
  :mod:`.revisions`) and each process's copy, checked per request or batch (:mod:`.in_force`);
* the facts of stored customers, read in bulk (:mod:`.facts_db`);
* the send-time re-check (:mod:`.send_check`).

Deciding is the pure engine's (:mod:`app.policy`); a whole audience at once is
:mod:`app.audience`.
"""
