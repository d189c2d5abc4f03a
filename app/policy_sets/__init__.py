"""The policy sets the database records, and the one in force for every process.

* the loaded revisions (:mod:`.models`, :mod:`.revisions`);
* each process's copy of the set in force, checked per request or batch, and what it
  declares: purposes, channels, the policy of a jurisdiction (:mod:`.in_force`).

The rules themselves are the pure engine's (:mod:`app.policy`); applying them to stored
customers is :mod:`app.decisions`.
"""
