"""The set-wise audience: a policy decision for every candidate of a campaign, in SQL.

:func:`resolve_audience` streams ``(customer_id, decision)`` for every candidate (a campaign
run); :func:`decide_customers` decides a list of customers (the API's batch);
:func:`count_audience` counts candidates per outcome and rule (forecasts). How the planner
works, from a campaign to a decision: ``docs/AUDIENCE.md``.
"""

from app.audience.query import CandidateFilter
from app.audience.resolve import Counts, count_audience, decide_customers, resolve_audience

__all__ = [
    "CandidateFilter",
    "Counts",
    "count_audience",
    "decide_customers",
    "resolve_audience",
]
