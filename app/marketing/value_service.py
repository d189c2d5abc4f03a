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

import json
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from flask import current_app
from sqlalchemy import delete, func, insert, select, text
from sqlalchemy.orm import Session

from app.marketing import bgnbd, classes, gamma_gamma, lifetime_value
from app.marketing.eligibility import HISTORY_FIELD, PROFILING_PURPOSE, histories, profiled_ids
from app.marketing.models import CustomerValue, ValueFit
from app.marketing.settings import ValueSettings, value_settings
from app.marketing.summaries import Summary, Transactions, summarise
from app.marketing.value import Purchase, activity, parse_purchases, score_customers
from app.models_base import utcnow
from app.transaction import transaction
from app.vault.service import log_access

ACTOR = "marketing:value-scores"
#: Fewer customers (or customers with repeat purchases) than this identify no model.
MIN_CUSTOMERS = 20
MIN_REPEAT_CUSTOMERS = 10
#: PostgreSQL advisory lock taken while the scores are replaced (one refit at a time).
REFIT_LOCK = 0x56414C55


@dataclass(frozen=True)
class RefitResult:
    """What a refit did: customers scored, the fit stored (if any), why none was."""

    scored: int
    fit_id: int | None
    reason: str | None = None


@dataclass(frozen=True)
class Fitted:
    """Both fitted models, the scores and the classes of the summarised customers."""

    purchases: bgnbd.BgNbd
    spend: gamma_gamma.GammaGamma
    scores: lifetime_value.Scores
    limits: classes.Thresholds
    class_index: np.ndarray


def transactions_of(purchases: dict[int, list[Purchase]], now: datetime) -> Transactions:
    """Every purchase made by ``now`` as arrays (amounts in currency units, days in UTC)."""
    rows = [
        (cid, p.at.date().toordinal(), p.amount_cents / 100)
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


def fit_and_score(summary: Summary, settings: ValueSettings) -> Fitted:
    """Fit both models on ``summary``, score and classify every customer in it."""
    purchases = bgnbd.fit(summary.x, summary.t_x, summary.T)
    spend = gamma_gamma.fit(summary.x, summary.repeat_mean)
    scores = lifetime_value.score(purchases, spend, summary, settings.valuation)
    limits = classes.thresholds(scores.current_value, scores.fltv)
    index = classes.classify(scores.current_value, scores.fltv, limits)
    return Fitted(purchases, spend, scores, limits, index)


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
    fitted = None if reason else fit_and_score(summary, settings)
    activities = {cid: act for cid, items in purchases.items() if (act := activity(items, moment))}
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
        _lock(session)
        previous = _previous_classes(session)
        fit_row = None
        if fitted is not None:
            fit_row = _fit_row(summary, fitted, settings, trigger, moment, previous)
            session.add(fit_row)
            session.flush()
        session.execute(delete(CustomerValue))
        rows = _rows(summary, fitted, settings, activities, moment, previous, fit_row)
        if rows:
            session.execute(insert(CustomerValue), rows)
        if fit_row is not None:
            fit_row.seconds = round(time.perf_counter() - started, 3)
    return RefitResult(len(rows), fit_row.id if fit_row else None, reason)


def _lock(session: Session) -> None:
    """On PostgreSQL, wait for any other refit to finish (SQLite serialises writers itself)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": REFIT_LOCK})


def _previous_classes(session: Session) -> dict[int, str]:
    """Each customer's class in the stored scores (the previous fit)."""
    query = select(CustomerValue.customer_id, CustomerValue.value_class).where(
        CustomerValue.value_class.is_not(None)
    )
    return {customer_id: name for customer_id, name in session.execute(query)}


def _cents(value: float) -> int:
    return round(value * 100)


def _fit_row(summary, fitted: Fitted, settings, trigger, moment, previous) -> ValueFit:
    """The ``value_fits`` row of this fit (parameters, sizes, settings, classes, movement)."""
    names = [classes.CLASSES[i] for i in fitted.class_index]
    moves = classes.movement(previous, zip(summary.customer.tolist(), names, strict=True))
    v, bg, gg = settings.valuation, fitted.purchases, fitted.spend
    finite = np.isfinite([fitted.limits.current, fitted.limits.potential])
    return ValueFit(
        fitted_at=moment,
        trigger=trigger,
        time_unit=v.time_unit,
        customers=len(summary),
        repeat_customers=summary.repeat_customers,
        transactions=int(summary.x.sum()) + len(summary),
        bgnbd_r=bg.r,
        bgnbd_alpha=bg.alpha,
        bgnbd_a=bg.a,
        bgnbd_b=bg.b,
        bgnbd_log_likelihood=bg.log_likelihood,
        gg_p=gg.p,
        gg_q=gg.q,
        gg_gamma=gg.gamma,
        gg_log_likelihood=gg.log_likelihood,
        margin_percent=v.margin * 100,
        discount_rate_percent=v.discount_rate * 100,
        horizon_months=v.horizon_months,
        cost_per_order_cents=_cents(v.cost_per_order),
        high_current_cents=_cents(fitted.limits.current) if finite[0] else None,
        high_potential_cents=_cents(fitted.limits.potential) if finite[1] else None,
        class_counts_json=json.dumps(classes.class_counts(fitted.class_index)),
        movement_json=json.dumps(moves, sort_keys=True),
        seconds=0.0,
    )


def _rows(summary, fitted, settings, activities, moment, previous, fit_row) -> list[dict]:
    """One ``customer_values`` row per summarised customer."""
    rfm = score_customers(activities)
    current = settings.valuation.margin * summary.total - settings.valuation.cost_per_order * (
        summary.x + 1
    )
    rows = []
    for i, cid in enumerate(summary.customer.tolist()):
        r = rfm[cid]
        row = {
            "customer_id": cid,
            "recency_score": r.recency,
            "frequency_score": r.frequency,
            "monetary_score": r.monetary,
            "tier": r.tier,
            "computed_at": moment,
            "current_value_cents": _cents(current[i]),
            "previous_class": previous.get(cid),
            "expected_value_cents": None,
            "fit_id": None,
            "p_alive": None,
            "expected_purchases": None,
            "expected_amount_cents": None,
            "fltv_cents": None,
            "value_class": None,
        }
        if fitted is not None:
            s = fitted.scores
            row.update(
                expected_value_cents=_cents(s.expected_spend[i]),
                fit_id=fit_row.id,
                p_alive=float(s.p_alive[i]),
                expected_purchases=float(s.expected_purchases[i]),
                expected_amount_cents=_cents(s.expected_amount[i]),
                fltv_cents=_cents(s.fltv[i]),
                value_class=classes.CLASSES[fitted.class_index[i]],
            )
        rows.append(row)
    return rows


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
