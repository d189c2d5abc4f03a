"""Benchmark: fit the value models and score 1,000,000 customers; recompute their classes.

Targets (docs/BENCHMARKS.md):

* ``value_fit_score_1m_s`` <= 30 s: from 1,000,000 customers' purchase summaries, fit the
  BG/NBD and Gamma-Gamma models by maximum likelihood and score every customer (probability
  alive, next 12 months, FLTV over 36 months) -- :func:`app.marketing.value_service.fit_and_score`.
  Beside it, in the same run, the floor a fit cannot go under: one evaluation of the BG/NBD
  log-likelihood and its gradient over the same customers (``value_loglik_pass_1m_s``).
* ``value_classes_1m_s`` <= 10 s: with the same customers' scores and the classes of a
  previous fit stored in the application's SQLite database, recompute every class set-wise:
  the thresholds of the top fifth, each customer's class (keeping the one they had), class
  counts and the movement since the previous fit -- :func:`app.marketing.value_store.reclassify`.
  The previous fit saw every FLTV off by a random factor (log-normal, sigma 0.3), so a share
  of the customers change class. Beside it, in the same run, the whole last stage of a refit:
  every customer's scores written over the previous fit's, then reclassified
  (``value_store_1m_s``, :func:`~app.marketing.value_store.store_values`).

The summaries are drawn from the models themselves (:mod:`app.marketing.simulation`), with
first purchases on whole days over two years, as in a purchase log.

    python bench/value.py            # 1,000,000 customers
    python bench/value.py --quick    # 100,000 customers (seconds scaled to 1,000,000)
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import argparse
import dataclasses
import json
import tempfile
import time
from datetime import UTC, datetime

import numpy as np
from sqlalchemy import func, select, text

FULL = 1_000_000
QUICK = 100_000
TARGET_FIT_SCORE_S = 30.0
TARGET_CLASSES_S = 10.0


def build_app(folder: Path):
    """A migrated application on a fresh SQLite database in ``folder``."""
    from flask_migrate import upgrade

    from app import create_app

    app = create_app(
        "testing",
        DATABASE_URL=f"sqlite:///{folder / 'bench.sqlite3'}",
        KEYSTORE_URL=f"sqlite:///{folder / 'keys.sqlite3'}",
    )
    with app.app_context():
        upgrade()
    return app


def add_customers(session, count: int) -> None:
    """``count`` bare customer rows (ids 1..count) for the scores to refer to."""
    session.execute(
        text(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :count) "
            "INSERT INTO customers (id, ref, alt_id, jurisdiction, timezone, language, "
            "email_verified, phone_verified, created_at) "
            "SELECT i, 'ref-' || i, 'alt-' || i, 'IT', 'Europe/Rome', 'it', 1, 0, "
            "'2026-01-01 00:00:00.000000' FROM n"
        ),
        {"count": count},
    )
    session.commit()


def timed(work):
    """``(seconds, result)`` of calling ``work()``."""
    started = time.perf_counter()
    result = work()
    return time.perf_counter() - started, result


def earlier(fitted, rng: np.random.Generator):
    """The same customers as a previous fit saw them: every FLTV off by a random factor."""
    scores = dataclasses.replace(
        fitted.scores, fltv=fitted.scores.fltv * rng.lognormal(0.0, 0.3, len(fitted.scores.fltv))
    )
    return dataclasses.replace(fitted, scores=scores)


def measure_storage(n: int, summary, fitted, valuation) -> tuple[float, float, dict]:
    """Seconds to store a refit over a previous fit, and to reclassify alone; the movement."""
    from app.marketing.models import CustomerValue, ValueFit
    from app.marketing.value_store import reclassify, store_values, write_scores
    from app.transaction import transaction

    before = earlier(fitted, np.random.default_rng(7))
    with tempfile.TemporaryDirectory() as folder:
        app = build_app(Path(folder))
        with app.app_context():
            from app.extensions import db

            session = db.session
            add_customers(session, n)

            def store(scores):
                with transaction(session):
                    return store_values(
                        session, summary, scores, valuation, datetime.now(UTC), trigger="bench"
                    )

            store(before)
            store_s, fit_id = timed(lambda: store(fitted))
            with transaction(session):  # the earlier scores again, classes still the latest
                write_scores(session, summary, before, valuation, datetime.now(UTC), fit_id)
            fit = session.get(ValueFit, fit_id)

            def recompute():
                with transaction(session):
                    reclassify(session, fit)

            classes_s, _ = timed(recompute)
            moves = json.loads(fit.movement_json)
            stored = session.scalar(select(func.count()).select_from(CustomerValue))
            assert stored == n, stored
            db.session.remove()
            for engine in db.engines.values():
                engine.dispose()
    return store_s, classes_s, moves


def main() -> None:
    """Run both figures and print the RESULT lines."""
    from app.marketing import bgnbd
    from app.marketing.lifetime_value import Valuation
    from app.marketing.simulation import Population, simulate_summaries
    from app.marketing.value_service import fit_and_score

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"{QUICK:,} customers")
    n = QUICK if parser.parse_args().quick else FULL
    scale = FULL / n
    print(f"Customers: {n:,}" + (" (seconds below are scaled to 1,000,000)" if scale > 1 else ""))

    summary = simulate_summaries(n, Population(), np.random.default_rng(2026))
    summary = type(summary)(**{**summary.__dict__, "customer": summary.customer + 1})
    valuation = Valuation()
    xs, counts = np.unique(summary.x, return_counts=True)
    log_theta = np.log([0.25, 4.0, 0.8, 2.5])
    one_pass, _ = timed(
        lambda: bgnbd._negative_log_likelihood(
            log_theta, summary.x, summary.t_x, summary.T, xs, counts.astype(float)
        )
    )
    seconds, fitted = timed(lambda: fit_and_score(summary, valuation))
    bg, gg = fitted.purchases, fitted.spend
    print(
        f"  BG/NBD r={bg.r:.3f} alpha={bg.alpha:.3f} a={bg.a:.3f} b={bg.b:.3f}; "
        f"Gamma-Gamma p={gg.p:.3f} q={gg.q:.3f} gamma={gg.gamma:.3f}"
    )
    fit_score = seconds * scale
    verdict = "met" if fit_score <= TARGET_FIT_SCORE_S else "NOT met"
    print(f"  fit and score: {fit_score:.2f} s (target <= {TARGET_FIT_SCORE_S:.0f} s: {verdict})")

    store_s, classes_s, moves = measure_storage(n, summary, fitted, valuation)
    changed = sum(k for a, row in moves.items() for b, k in row.items() if a != b)
    print(f"  customers changing class when reclassified: {changed:,} of {n:,}")
    store_s, classes_s = store_s * scale, classes_s * scale
    verdict = "met" if classes_s <= TARGET_CLASSES_S else "NOT met"
    print(f"  scores written (classes included): {store_s:.2f} s")
    print(
        f"  classes recomputed: {classes_s:.2f} s (target <= {TARGET_CLASSES_S:.0f} s: {verdict})"
    )
    print(f"RESULT value_fit_score_1m_s {fit_score:.2f} s")
    print(f"RESULT value_loglik_pass_1m_s {one_pass * scale:.3f} s")
    print(f"RESULT value_classes_1m_s {classes_s:.2f} s")
    print(f"RESULT value_store_1m_s {store_s:.2f} s")


if __name__ == "__main__":
    main()
