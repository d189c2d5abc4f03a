"""Storing a computation of customer value: classes, movement, the fit row and every score.

:func:`store_values` is the last stage of a refit (:mod:`app.marketing.value_service`): it
classifies the scored customers (:mod:`app.marketing.classes`), counts the movement from the
classes stored by the previous fit, keeps the fit in ``value_fits`` and replaces the
``customer_values`` table, all inside the caller's transaction.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from sqlalchemy import delete, insert, select, text
from sqlalchemy.orm import Session

from app.marketing import bgnbd, classes, gamma_gamma, lifetime_value
from app.marketing.models import CustomerValue, ValueFit
from app.marketing.summaries import TIME_UNITS, Summary
from app.marketing.value import rfm_scores

#: PostgreSQL advisory lock taken while the scores are replaced (one refit at a time).
REFIT_LOCK = 0x56414C55
#: Rows written per statement.
BATCH = 20_000


@dataclass(frozen=True)
class Fitted:
    """Both fitted models and the scores of the summarised customers."""

    purchases: bgnbd.BgNbd
    spend: gamma_gamma.GammaGamma
    scores: lifetime_value.Scores


def _lock(session: Session) -> None:
    """On PostgreSQL, wait for any other refit to finish (SQLite serialises writers itself)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": REFIT_LOCK})


def previous_classes(session: Session) -> dict[int, str]:
    """Each customer's class in the stored scores (the previous fit)."""
    query = select(CustomerValue.customer_id, CustomerValue.value_class).where(
        CustomerValue.value_class.is_not(None)
    )
    return dict(session.execute(query).tuples().all())


def _cents(values: np.ndarray) -> list[int]:
    return np.rint(np.asarray(values, dtype=float) * 100).astype(np.int64).tolist()


def _fit_row(summary, fitted, valuation, trigger, moment, limits, index, moves) -> ValueFit:
    """The ``value_fits`` row of this fit (parameters, sizes, settings, classes, movement)."""
    bg, gg = fitted.purchases, fitted.spend
    high = [limits.current, limits.potential]
    return ValueFit(
        fitted_at=moment,
        trigger=trigger,
        time_unit=valuation.time_unit,
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
        margin_percent=valuation.margin * 100,
        discount_rate_percent=valuation.discount_rate * 100,
        horizon_months=valuation.horizon_months,
        cost_per_order_cents=round(valuation.cost_per_order * 100),
        high_current_cents=round(high[0] * 100) if np.isfinite(high[0]) else None,
        high_potential_cents=round(high[1] * 100) if np.isfinite(high[1]) else None,
        class_counts_json=json.dumps(classes.class_counts(index)),
        movement_json=json.dumps(moves, sort_keys=True),
        seconds=0.0,
    )


def _columns(summary: Summary, valuation, moment, previous) -> dict[str, list]:
    """Columns every scored customer gets: RFM, current value, previous class."""
    recency = (summary.T - summary.t_x) * TIME_UNITS[valuation.time_unit]
    r, f, m, tier = rfm_scores(recency, summary.x + 1, summary.total)
    current = valuation.margin * summary.total - valuation.cost_per_order * (summary.x + 1)
    ids = summary.customer.tolist()
    n = len(ids)
    return {
        "customer_id": ids,
        "recency_score": r.tolist(),
        "frequency_score": f.tolist(),
        "monetary_score": m.tolist(),
        "tier": tier.tolist(),
        "computed_at": [moment] * n,
        "current_value_cents": _cents(current),
        "previous_class": [previous.get(cid) for cid in ids],
    }


def _model_columns(fitted: Fitted | None, fit_id: int | None, names: list | None, n: int):
    """The fitted model's columns (all empty without a fit)."""
    if fitted is None:
        empty = [None] * n
        return dict.fromkeys(
            (
                "expected_value_cents",
                "fit_id",
                "p_alive",
                "expected_purchases",
                "expected_amount_cents",
                "fltv_cents",
                "value_class",
            ),
            empty,
        )
    s = fitted.scores
    return {
        "expected_value_cents": _cents(s.expected_spend),
        "fit_id": [fit_id] * n,
        "p_alive": s.p_alive.tolist(),
        "expected_purchases": s.expected_purchases.tolist(),
        "expected_amount_cents": _cents(s.expected_amount),
        "fltv_cents": _cents(s.fltv),
        "value_class": names,
    }


def _write(session: Session, columns: dict[str, list]) -> None:
    """Replace every stored score with ``columns`` (one row per customer)."""
    session.execute(delete(CustomerValue))
    names = list(columns)
    rows = [dict(zip(names, values, strict=True)) for values in zip(*columns.values(), strict=True)]
    for start in range(0, len(rows), BATCH):
        session.execute(insert(CustomerValue), rows[start : start + BATCH])


def store_values(
    session: Session,
    summary: Summary,
    fitted: Fitted | None,
    valuation: lifetime_value.Valuation,
    moment: datetime,
    *,
    trigger: str,
    started: float | None = None,
) -> int | None:
    """Classify, keep the fit and replace the scores (in the caller's transaction).

    Returns the id of the stored fit, ``None`` without one (RFM and current value only).
    """
    _lock(session)
    previous = previous_classes(session)
    fit_row, names = None, None
    if fitted is not None:
        scores = fitted.scores
        limits = classes.thresholds(scores.current_value, scores.fltv)
        index = classes.classify(scores.current_value, scores.fltv, limits)
        names = np.asarray(classes.CLASSES)[index].tolist()
        moves = classes.movement(previous, zip(summary.customer.tolist(), names, strict=True))
        fit_row = _fit_row(summary, fitted, valuation, trigger, moment, limits, index, moves)
        session.add(fit_row)
        session.flush()
    columns = _columns(summary, valuation, moment, previous)
    columns |= _model_columns(fitted, fit_row.id if fit_row else None, names, len(summary))
    _write(session, columns)
    if fit_row is not None and started is not None:
        fit_row.seconds = round(time.perf_counter() - started, 3)
    return fit_row.id if fit_row else None
