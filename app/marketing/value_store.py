"""Storing a computation of customer value: every score, the fit row, then the classes.

:func:`store_values` is the last stage of a refit (:mod:`app.marketing.value_service`), in
the caller's transaction: it keeps the fit in ``value_fits``, writes every scored customer's
row in place, counts and deletes the rows of customers no longer scored (they withdrew),
then :func:`reclassify` recomputes every class set-wise in SQL: the thresholds of the top
fifth, the movement from each customer's class to their new one since the previous fit, the
class counts, and the classes themselves.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from sqlalchemy import and_, delete, func, select, text, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
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


def _after_last(session: Session, moment: datetime) -> datetime:
    """``moment``, or just after the last computation if that is not earlier (rows written
    now are told from rows of earlier computations by their time)."""
    last = session.scalar(select(func.max(CustomerValue.computed_at)))
    return moment if last is None or last < moment else last + timedelta(microseconds=1)


def _cents(values: np.ndarray) -> list[int]:
    return np.rint(np.asarray(values, dtype=float) * 100).astype(np.int64).tolist()


def _fit_row(summary, fitted, valuation, trigger, moment) -> ValueFit:
    """The ``value_fits`` row of this fit (parameters, sizes, settings); classes come later."""
    bg, gg = fitted.purchases, fitted.spend
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
        class_counts_json="{}",
        movement_json="{}",
        seconds=0.0,
    )


def _columns(summary: Summary, valuation, moment) -> dict[str, list]:
    """Columns every scored customer gets: RFM and current value."""
    recency = (summary.T - summary.t_x) * TIME_UNITS[valuation.time_unit]
    r, f, m, tier = rfm_scores(recency, summary.x + 1, summary.total)
    current = valuation.margin * summary.total - valuation.cost_per_order * (summary.x + 1)
    return {
        "customer_id": summary.customer.tolist(),
        "recency_score": r.tolist(),
        "frequency_score": f.tolist(),
        "monetary_score": m.tolist(),
        "tier": tier.tolist(),
        "computed_at": [moment] * len(summary),
        "current_value_cents": _cents(current),
    }


def _model_columns(fitted: Fitted | None, fit_id: int | None, n: int) -> dict[str, list]:
    """The fitted model's columns; without a fit they are empty and so is the class."""
    if fitted is None:
        empty = [None] * n
        keys = (
            "expected_value_cents",
            "fit_id",
            "p_alive",
            "expected_purchases",
            "expected_amount_cents",
            "fltv_cents",
            "value_class",
        )
        return dict.fromkeys(keys, empty)
    s = fitted.scores
    return {
        "expected_value_cents": _cents(s.expected_spend),
        "fit_id": [fit_id] * n,
        "p_alive": s.p_alive.tolist(),
        "expected_purchases": s.expected_purchases.tolist(),
        "expected_amount_cents": _cents(s.expected_amount),
        "fltv_cents": _cents(s.fltv),
    }


def _leave(session: Session, moment: datetime) -> dict[str, int]:
    """Delete the rows of customers not scored at ``moment``; their classes, counted."""
    v = CustomerValue
    gone = select(v.value_class, func.count()).where(v.computed_at < moment)
    left = {name: n for name, n in session.execute(gone.group_by(v.value_class)) if name}
    session.execute(delete(v).where(v.computed_at < moment))
    return left


def _top(session: Session, column, kept, count: int) -> int | None:
    """The smallest value of ``column`` in the top fifth of the ``count`` ``kept`` rows."""
    if count == 0:
        return None
    query = select(column).where(kept).order_by(column.desc())
    return session.scalar(query.limit(1).offset(classes.top_fifth_rank(count)))


def thresholds(session: Session) -> classes.Thresholds:
    """The thresholds of "high" among the stored customers who are not below zero."""
    v = CustomerValue
    kept = and_(v.fltv_cents.is_not(None), v.current_value_cents + v.fltv_cents >= 0)
    count = session.scalar(select(func.count()).where(kept)) or 0
    return classes.Thresholds(
        _top(session, v.current_value_cents, kept, count), _top(session, v.fltv_cents, kept, count)
    )


def reclassify(session: Session, fit: ValueFit, left: dict[str, int] | None = None) -> None:
    """Recompute every stored customer's class; record thresholds, counts, movement on ``fit``.

    The movement is counted before the classes change (from the class each customer has to
    the one they get); only the rows whose class changes are written. ``left`` counts, per
    class, the customers who were classed and are no longer scored.
    """
    v = CustomerValue
    limits = thresholds(session)
    new_class = classes.class_of(v.current_value_cents, v.fltv_cents, limits)
    scored = v.fltv_cents.is_not(None)
    pairs = select(v.value_class, new_class, func.count()).where(scored)
    moves: dict[str, dict[str, int]] = {}
    counts = dict.fromkeys(classes.CLASSES, 0)
    for before, after, n in session.execute(pairs.group_by(v.value_class, new_class)):
        moves.setdefault(before or classes.NEW, {})[after] = n
        counts[after] += n
    for before, n in (left or {}).items():
        moves.setdefault(before, {})[classes.LEFT] = n
    session.execute(
        update(v)
        .where(scored, v.value_class.is_distinct_from(new_class))
        .values(value_class=new_class)
        .execution_options(synchronize_session=False)
    )
    fit.high_current_cents, fit.high_potential_cents = limits.current, limits.potential
    fit.class_counts_json = json.dumps(counts)
    fit.movement_json = json.dumps(moves, sort_keys=True)


def write_scores(
    session: Session,
    summary: Summary,
    fitted: Fitted | None,
    valuation: lifetime_value.Valuation,
    moment: datetime,
    fit_id: int | None,
) -> None:
    """Write (insert or rewrite) every summarised customer's scores, computed at ``moment``.

    Classes are left as they were (:func:`reclassify` recomputes them); without a fit they
    are emptied.
    """
    columns = _columns(summary, valuation, moment)
    columns |= _model_columns(fitted, fit_id, len(summary))
    _write(session, columns)


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
    """Keep the fit, write every score, drop customers no longer scored, reclassify.

    In the caller's transaction. Returns the id of the stored fit, ``None`` without one (RFM
    and current value only, no class).
    """
    _lock(session)
    moment = _after_last(session, moment)
    fit_row = None
    if fitted is not None:
        fit_row = _fit_row(summary, fitted, valuation, trigger, moment)
        session.add(fit_row)
        session.flush()
    write_scores(session, summary, fitted, valuation, moment, fit_row.id if fit_row else None)
    left = _leave(session, moment)
    if fit_row is None:
        return None
    reclassify(session, fit_row, left)
    if started is not None:
        fit_row.seconds = round(time.perf_counter() - started, 3)
    return fit_row.id


def _bound(kind, dialect, values: list) -> list:
    """``values`` as the driver takes them (each distinct value converted once)."""
    process = kind.dialect_impl(dialect).bind_processor(dialect)
    if process is None:
        return values
    converted: dict = {}
    return [converted[v] if v in converted else converted.setdefault(v, process(v)) for v in values]


def _upsert(dialect_name: str, table, columns: list[str]):
    """``INSERT ... ON CONFLICT (customer_id) DO UPDATE``: each customer's row is rewritten in
    place, so :func:`reclassify` still finds the class it had."""
    insert = postgresql_insert if dialect_name == "postgresql" else sqlite_insert
    statement = insert(table)
    changes = {name: statement.excluded[name] for name in columns if name != "customer_id"}
    return statement.on_conflict_do_update(index_elements=["customer_id"], set_=changes)


def _write(session: Session, columns: dict[str, list]) -> None:
    """Write (insert or rewrite) one row per customer of ``columns``.

    With a positional driver (SQLite) the rows go to the driver's ``executemany`` as tuples,
    converted column by column; a million rows of parameter dictionaries through SQLAlchemy
    cost more than twice as much. Other drivers get SQLAlchemy's batched multi-row statements.
    """
    connection = session.connection()
    table = CustomerValue.__table__
    dialect = connection.dialect
    statement = _upsert(dialect.name, table, list(columns))
    compiled = statement.compile(dialect=dialect, column_keys=list(columns))
    if compiled.positiontup is None:
        rows = [dict(zip(columns, r, strict=True)) for r in zip(*columns.values(), strict=True)]
        for start in range(0, len(rows), BATCH):
            connection.execute(statement, rows[start : start + BATCH])
        return
    kinds = {key: table.c[key].type for key in columns}
    bound = [_bound(kinds[key], dialect, columns[key]) for key in compiled.positiontup]
    values = list(zip(*bound, strict=True))
    for start in range(0, len(values), BATCH):
        connection.exec_driver_sql(str(compiled), values[start : start + BATCH])
