"""The record of messages: intended (outbox entries), sent (the send log) and refused by the
address (suppressions).

Campaign runs and transactional mail enqueue outbox entries; delivery claims, sends and
records them; decisions and audiences read the send log and suppressions (weekly limits,
suppressed channels). These tables sit below all of them so that none depends on another.
"""
