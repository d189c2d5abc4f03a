"""``flask value fit``: an analyst's backtest on a purchase file, with no database at all."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import inspect

from app import create_app
from app.extensions import db

CDNOW = Path(__file__).resolve().parents[1] / "data" / "cdnow" / "CDNOW_sample.txt"


@pytest.fixture(scope="module")
def cli(tmp_path_factory):
    """An analyst's checkout: a database never migrated, which the command must not need."""
    folder = tmp_path_factory.mktemp("analyst")
    app = create_app(
        "testing",
        DATABASE_URL=f"sqlite:///{folder / 'empty.sqlite3'}",
        KEYSTORE_URL=f"sqlite:///{folder / 'empty.keystore.sqlite3'}",
    )
    yield app.test_cli_runner()
    with app.app_context():
        assert inspect(db.engine).get_table_names() == []  # nothing was read or written
        db.engine.dispose()


@pytest.fixture(scope="module")
def cdnow_csv(tmp_path_factory) -> Path:
    """The raw CDNOW log rewritten as ``customer,date,amount`` (one row per purchase)."""
    lines = ["customer,date,amount"]
    for line in CDNOW.read_text().splitlines():
        _, customer, day, _, amount = line.split()
        lines.append(f"{customer},{day[:4]}-{day[4:6]}-{day[6:]},{amount}")
    path = tmp_path_factory.mktemp("cdnow") / "cdnow.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def fit(cli, *args: str):
    return cli.invoke(args=["value", "fit", *args])


def test_the_cdnow_log_gives_the_published_parameters_as_json(cli, cdnow_csv):
    result = fit(cli, "--transactions", str(cdnow_csv), "--calibration-end", "1997-09-30", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["customers"] == 2357 and data["repeat_customers"] == 946
    assert data["bgnbd"]["r"] == pytest.approx(0.243, abs=0.0015)
    assert data["bgnbd"]["alpha"] == pytest.approx(4.414, abs=0.0015)
    assert data["bgnbd"]["a"] == pytest.approx(0.793, abs=0.0015)
    assert data["bgnbd"]["b"] == pytest.approx(2.426, abs=0.0015)
    assert data["bgnbd"]["log_likelihood"] == pytest.approx(-9582.4, abs=0.05)
    assert data["gamma_gamma"] == pytest.approx({"p": 6.25, "q": 3.74, "gamma": 15.44}, abs=0.015)
    assert "holdout" not in data


def actual_holdout_transactions() -> int:
    """Repeat transactions (customer-days) of 1997-10-01..1998-06-30 by the calibration cohort."""
    first_seen, days = {}, set()
    for line in CDNOW.read_text().splitlines():
        _, customer, day, _, _ = line.split()
        first_seen[customer] = min(first_seen.get(customer, day), day)
        days.add((customer, day))
    return sum(1 for c, d in days if d > "19970930" and first_seen[c] <= "19970930")


def test_a_holdout_compares_predicted_with_actual_purchases(cli, cdnow_csv):
    args = [
        "--transactions",
        str(cdnow_csv),
        "--calibration-end",
        "1997-09-30",
        "--holdout-end",
        "1998-06-30",
    ]
    data = json.loads(fit(cli, *args, "--json").output)
    holdout = data["holdout"]
    assert holdout["periods"] == pytest.approx(39.0)
    assert [g["repeat_purchases"] for g in holdout["groups"]] == [*"0123456", "7+"]
    assert sum(g["customers"] for g in holdout["groups"]) == 2357
    assert holdout["total"]["actual"] == actual_holdout_transactions()
    predicted = sum(g["predicted"] for g in holdout["groups"])
    assert holdout["total"]["predicted"] == pytest.approx(predicted, abs=0.01)
    assert predicted == pytest.approx(holdout["total"]["actual"], rel=0.15)
    text = fit(cli, *args).output
    assert "BG/NBD" in text and "r=0.2426" in text and "actual against predicted" in text
    assert text.splitlines()[-1].split()[0] == "total"


@pytest.mark.parametrize(
    ("content", "args", "message"),
    [
        (None, ("--calibration-end", "2024-01-31"), "cannot read"),
        (
            "who,when,how much\nc1,2024-01-01,5\n",
            ("--calibration-end", "2024-01-31"),
            "header customer,date,amount",
        ),
        (
            "customer,date,amount\nc1,01/02/2024,5\n",
            ("--calibration-end", "2024-01-31"),
            "line 2: date '01/02/2024' is not a date",
        ),
        (
            "customer,date,amount\nc1,2024-02-30,5\n",
            ("--calibration-end", "2024-01-31"),
            "line 2: date '2024-02-30' does not exist",
        ),
        (
            "customer,date,amount\nc1,2024-01-02,five\n",
            ("--calibration-end", "2024-01-31"),
            "line 2: amount 'five' is not a number",
        ),
        (
            "customer,date,amount\nc1,2024-01-02,-5\n",
            ("--calibration-end", "2024-01-31"),
            "below zero",
        ),
        (
            "customer,date,amount\nc1,2024-01-02\n",
            ("--calibration-end", "2024-01-31"),
            "expected 3 fields",
        ),
        ("customer,date,amount\n", ("--calibration-end", "2024-01-31"), "holds no purchases"),
        (
            "customer,date,amount\nc1,2024-01-02,5\nc1,2024-03-02,5\n",
            ("--calibration-end", "2023-12-31"),
            "outside the purchases",
        ),
        (
            "customer,date,amount\nc1,2024-01-02,5\nc1,2024-03-02,5\n",
            ("--calibration-end", "2024-06-30"),
            "outside the purchases",
        ),
        (
            "customer,date,amount\nc1,2024-01-02,5\nc1,2024-03-02,5\n",
            ("--calibration-end", "2024-02-01", "--holdout-end", "2024-01-15"),
            "holdout end",
        ),
        (
            "customer,date,amount\nc1,2024-01-02,5\nc2,2024-03-02,5\n",
            ("--calibration-end", "2024-03-02"),
            "bought again",
        ),
        (
            "customer,date,amount\nc1,2024-01-02,5\n",
            ("--calibration-end", "2024-13-01"),
            "2024-13-01",
        ),
    ],
)
def test_bad_files_and_dates_get_a_clear_error_and_no_traceback(
    cli, tmp_path, content, args, message
):
    path = tmp_path / "purchases.csv"
    if content is not None:
        path.write_text(content)
    result = fit(cli, "--transactions", str(path), *args)
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_same_day_rows_are_one_purchase(cli, tmp_path):
    rows = ["customer,date,amount"]
    start = date(2024, 1, 1).toordinal()
    for n in range(30):
        for day in (0, 10, 10, 20):  # two rows on day 10: one transaction of summed amount
            rows.append(f"c{n},{date.fromordinal(start + day + n).isoformat()},{5 + n % 7}")
    path = tmp_path / "p.csv"
    path.write_text("\n".join(rows))
    data = json.loads(
        fit(
            cli,
            "--transactions",
            str(path),
            "--calibration-end",
            "2024-02-19",
            "--time-unit",
            "day",
            "--json",
        ).output
    )
    assert data["customers"] == 30 and data["repeat_customers"] == 30
    assert data["time_unit"] == "day"
