"""Refitting the value models and rescoring every customer who may be profiled (service layer).

:func:`refit_values` decrypts the purchase history of every customer who may be profiled (see
:mod:`app.marketing.eligibility`) with **one** vault access-log entry, fits the BG/NBD and
Gamma-Gamma models on their purchases (:mod:`.bgnbd`, :mod:`.gamma_gamma`), scores each of
them (:mod:`.lifetime_value`), classifies them (:mod:`.classes`) and replaces the
``customer_values`` table: customers who withdrew since the last computation disappear from
it. Each fit is kept in ``value_fits`` with its parameters, data size, log-likelihoods, the
settings it used, its class counts and the movement between classes since the previous fit.

With too little purchase history to identify the models, customers still get their RFM tier
and current value, and the result says why no model was fitted.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.marketing import bgnbd, gamma_gamma, lifetime_value
from app.marketing.eligibility import HISTORY_FIELD, PROFILING_PURPOSE, histories, profiled_ids
from app.marketing.models import CustomerValue, ValueFit
from app.marketing.settings import ValueSettings, value_settings
from app.marketing.summaries import Summary, Transactions, summarise
from app.marketing.value import Purchase, parse_purchases
from app.marketing.value_store import Fitted, store_values
from app.models_base import utcnow
from app.transaction import transaction
from app.vault.service import log_access

ACTOR = "marketing:value-scores"
#: Fewer customers (or customers with repeat purchases) than this identify no model.
MIN_CUSTOMERS = 20
MIN_REPEAT_CUSTOMERS = 10


@dataclass(frozen=True)
class RefitResult:
    """What a refit did: customers scored, the fit stored (if any), why none was."""

    scored: int
    fit_id: int | None
    reason: str | None = None


def transactions_of(purchases: dict[int, list[Purchase]], now: datetime) -> Transactions:
    """Every purchase made by ``now`` as arrays (amounts in currency units, days in UTC)."""
    rows = [
        (cid, p.at.astimezone(UTC).date().toordinal(), p.amount_cents / 100)
        for cid, items in purchases.items()
        for p in items
        if p.at <= now
    ]
    if not rows:
        return Transactions.of([], [], [])
    customer, day, amount = zip(*rows, strict=True)
    return Transactions.of(customer, day, amount)


def not_fittable(summary: Summary) -> str | None:
    """Why ``summary`` cannot identify the models, or ``None`` when it can."""
    if len(summary) < MIN_CUSTOMERS or summary.repeat_customers < MIN_REPEAT_CUSTOMERS:
        return (
            f"Not enough purchase history to fit the value models: {len(summary)} customers "
            f"with purchases, {summary.repeat_customers} of them with repeat purchases "
            f"(at least {MIN_CUSTOMERS} and {MIN_REPEAT_CUSTOMERS} are needed)."
        )
    return None


def fit_and_score(summary: Summary, valuation: lifetime_value.Valuation) -> Fitted:
    """Fit both models on ``summary`` and score every customer in it."""
    purchases = bgnbd.fit(summary.x, summary.t_x, summary.T)
    spend = gamma_gamma.fit(summary.x, summary.repeat_mean)
    return Fitted(purchases, spend, lifetime_value.score(purchases, spend, summary, valuation))


def refit_values(
    session: Session,
    now: datetime | None = None,
    *,
    trigger: str = "console",
    settings: ValueSettings | None = None,
) -> RefitResult:
    """Refit the models, rescore and reclassify every customer who may be profiled."""
    started = time.perf_counter()
    moment = now or utcnow()
    settings = settings or value_settings(current_app)
    ids = profiled_ids(session)
    purchases = {cid: parse_purchases(raw) for cid, raw in histories(session, ids)}
    summary = summarise(
        transactions_of(purchases, moment),
        moment.date().toordinal(),
        settings.valuation.time_unit,
    )
    reason = not_fittable(summary)
    fitted = None if reason else fit_and_score(summary, settings.valuation)
    with transaction(session):
        if ids:
            log_access(
                session,
                actor=ACTOR,
                purpose=PROFILING_PURPOSE,
                fields=[HISTORY_FIELD],
                customer_count=len(ids),
                reason="customer value: model fit and scores",
            )
        fit_id = store_values(
            session,
            summary,
            fitted,
            settings.valuation,
            moment,
            trigger=trigger,
            started=started,
        )
    return RefitResult(len(summary), fit_id, reason)


def refit_if_due(session: Session, now: datetime) -> RefitResult | None:
    """Refit (trigger ``schedule``) when the last computation is older than the setting."""
    settings = value_settings(current_app)
    if not refit_due(session, now, settings.refit_days):
        session.rollback()  # end the read transaction
        return None
    return refit_values(session, now, trigger="schedule", settings=settings)


def refit_due(session: Session, now: datetime, refit_days: float) -> bool:
    """Whether the last computation (with or without a fit) is older than ``refit_days``."""
    last = session.scalar(select(func.max(CustomerValue.computed_at)))
    last_fit = session.scalar(select(func.max(ValueFit.fitted_at)))
    latest = max((t for t in (last, last_fit) if t is not None), default=None)
    return latest is None or now - latest >= timedelta(days=refit_days)
