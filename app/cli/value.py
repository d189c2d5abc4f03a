"""``flask value``: backtest the value models on a file, refit them, list past fits."""

from __future__ import annotations

import json
from datetime import datetime

import click

from app.cli import domain_errors, fail
from app.extensions import db
from app.marketing.backtest import Backtest, HoldoutGroup, backtest, read_purchases
from app.marketing.value_reports import recent_fits
from app.marketing.value_service import refit_values

DATE = click.DateTime(formats=["%Y-%m-%d"])


@click.group("value", help="Customer value: backtest, refit and list the fitted models.")
def group() -> None:
    """Command group for customer value."""


def _group_json(row: HoldoutGroup) -> dict:
    return {"customers": row.customers, "actual": row.actual, "predicted": round(row.predicted, 4)}


def as_json(result: Backtest) -> dict:
    """The backtest in the documented JSON shape (holdout only when one was asked for)."""
    bg, gg = result.purchases, result.spend
    data = {
        "bgnbd": {
            "r": bg.r,
            "alpha": bg.alpha,
            "a": bg.a,
            "b": bg.b,
            "log_likelihood": bg.log_likelihood,
        },
        "gamma_gamma": {"p": gg.p, "q": gg.q, "gamma": gg.gamma},
        "customers": result.customers,
        "repeat_customers": result.repeat_customers,
        "time_unit": result.time_unit,
    }
    if result.holdout_periods is not None:
        data["holdout"] = {
            "periods": result.holdout_periods,
            "groups": [{"repeat_purchases": g.label, **_group_json(g)} for g in result.groups],
            "total": _group_json(result.total),
        }
    return data


def print_backtest(result: Backtest) -> None:
    """The fitted parameters and, with a holdout, predicted against actual, as text."""
    bg, gg = result.purchases, result.spend
    click.echo(
        f"Customers: {result.customers:,} ({result.repeat_customers:,} with repeat purchases); "
        f"time unit: {result.time_unit}"
    )
    click.echo(
        f"BG/NBD (purchases, dropout): r={bg.r:.4f} alpha={bg.alpha:.4f} a={bg.a:.4f} "
        f"b={bg.b:.4f} log-likelihood={bg.log_likelihood:.2f}"
    )
    click.echo(f"Gamma-Gamma (spend): p={gg.p:.4f} q={gg.q:.4f} gamma={gg.gamma:.4f}")
    if result.holdout_periods is None:
        return
    click.echo(
        f"\nHoldout of {result.holdout_periods:.2f} {result.time_unit}s: repeat purchases, "
        "actual against predicted"
    )
    click.echo(
        f"  {'repeat in calibration':>21} {'customers':>10} {'actual':>10} {'predicted':>10}"
    )
    for row in (*result.groups, result.total):
        click.echo(
            f"  {row.label:>21} {row.customers:>10,} {row.actual:>10,.0f} {row.predicted:>10,.1f}"
        )


@group.command("fit")
@click.option("--transactions", "path", required=True, help="CSV file: customer,date,amount.")
@click.option("--calibration-end", required=True, type=DATE, help="Last day fitted (YYYY-MM-DD).")
@click.option("--holdout-end", type=DATE, help="Compare predictions up to this day.")
@click.option("--time-unit", type=click.Choice(["day", "week"]), default="week", show_default=True)
@click.option("--json", "json_output", is_flag=True, help="Print the result as JSON.")
@domain_errors
def fit_command(
    path: str,
    calibration_end: datetime,
    holdout_end: datetime | None,
    time_unit: str,
    json_output: bool,
) -> None:
    """Fit BG/NBD and Gamma-Gamma on a purchase file; no customer in the database is read."""
    purchases = read_purchases(path)
    result = backtest(
        purchases, calibration_end.date(), holdout_end.date() if holdout_end else None, time_unit
    )
    if json_output:
        click.echo(json.dumps(as_json(result), indent=2))
    else:
        print_backtest(result)


@group.command("refit")
@domain_errors
def refit_command() -> None:
    """Refit the models on the customers who allow profiling and rescore them now."""
    result = refit_values(db.session(), trigger="cli")
    click.echo(f"Scored {result.scored:,} customers who allow profiling.")
    if result.fit_id is None:
        fail(result.reason or "No model was fitted.", 1)
    click.echo(f"Fit #{result.fit_id} stored.")


@group.command("fits")
@click.option("--limit", default=10, show_default=True, type=click.IntRange(1, 1000))
def fits_command(limit: int) -> None:
    """The most recent fits: when, why, data size, parameters and log-likelihoods."""
    fits = recent_fits(db.session(), limit)
    if not fits:
        click.echo("No fit yet.")
    for f in fits:
        click.echo(
            f"#{f.id:<4} {f.fitted_at:%Y-%m-%d %H:%M} {f.trigger:8} {f.customers:>9,} customers "
            f"({f.repeat_customers:,} repeat) BG/NBD r={f.bgnbd_r:.3f} alpha={f.bgnbd_alpha:.3f} "
            f"a={f.bgnbd_a:.3f} b={f.bgnbd_b:.3f} LL={f.bgnbd_log_likelihood:.1f}; "
            f"Gamma-Gamma p={f.gg_p:.3f} q={f.gg_q:.3f} gamma={f.gg_gamma:.3f} "
            f"LL={f.gg_log_likelihood:.1f}"
        )
