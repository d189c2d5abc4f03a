"""Dashboards over time: the consent rate per purpose and channel week by week, and the time
data-subject requests took to close.

The consent rate at the end of a week is the share of customers then on file (created by then,
not erased by then) whose consent was in force: the ledger replayed in event-time order through
:func:`app.ledger.state.project`, the same rule the current state follows, so the last point
agrees with the snapshot panel. One chart per purpose, one line per channel.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from app.compliance.dashboards import (
    LINE_HEIGHT,
    LINE_WIDTH,
    PAD_BOTTOM,
    PAD_LEFT,
    PAD_RIGHT,
    PAD_TOP,
    WEEKS,
    LineChart,
    Panel,
    Series,
)
from app.compliance.models import DataSubjectRequest
from app.compliance.tables import Column, Table
from app.customers.models import Customer
from app.ledger.models import ConsentEvent
from app.ledger.state import StateValues, project
from app.marketing.charts import bar_chart
from app.models_base import utcnow

#: The legal deadline without extension, in days (a calendar month, at most 31 days).
DEADLINE_DAYS = 31
SERIES_CLASSES = ("line", "line alt", "line third", "line fourth")


def percent_chart(
    title: str, labels: Sequence[str], lines: Mapping[str, Sequence[float]]
) -> LineChart:
    """Lines of percentages (0 to 100) over labelled x positions, on a fixed 0 to 100 % axis."""
    span_x = LINE_WIDTH - PAD_LEFT - PAD_RIGHT
    span_y = LINE_HEIGHT - PAD_TOP - PAD_BOTTOM
    step = span_x / max(len(labels) - 1, 1)

    def y(value: float) -> float:
        return round(PAD_TOP + span_y * (1 - value / 100), 1)

    series = tuple(
        Series(
            name,
            SERIES_CLASSES[index % len(SERIES_CLASSES)],
            " ".join(f"{round(PAD_LEFT + i * step, 1)},{y(v)}" for i, v in enumerate(values)),
        )
        for index, (name, values) in enumerate(lines.items())
    )
    every = max(len(labels) // 6, 1)
    x_labels = tuple(
        (round(PAD_LEFT + i * step, 1), label) for i, label in enumerate(labels) if i % every == 0
    )
    y_ticks = tuple((y(value), f"{value}%") for value in (0, 50, 100))
    return LineChart(title, LINE_WIDTH, LINE_HEIGHT, series, x_labels, y_ticks)


def week_ends(now: datetime) -> list[datetime]:
    """The ends of the last :data:`WEEKS` weeks (Monday 00:00 UTC), the last one ``now``."""
    monday = (now - timedelta(days=now.weekday())).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    ends = [monday - timedelta(weeks=WEEKS - 1 - i) for i in range(1, WEEKS)]
    return [*ends, now]


def _customers_at(session: Session, ends: Sequence[datetime]) -> list[int]:
    """How many customers were on file at each moment (created by then, not erased by then)."""
    counts = session.execute(
        select(
            *(
                func.coalesce(
                    func.sum(
                        case(
                            (
                                (Customer.created_at <= end)
                                & (Customer.erased_at.is_(None) | (Customer.erased_at > end)),
                                1,
                            ),
                            else_=0,
                        )
                    ),
                    0,
                )
                for end in ends
            )
        )
    ).one()
    return [int(count) for count in counts]


def _in_force(values: StateValues | None) -> bool:
    return values is not None and values.status == "granted" and values.confirmed


def _in_force_at(session: Session, ends: Sequence[datetime]) -> list[Counter]:
    """Consents in force per (purpose, channel) at each of ``ends``: one pass over the ledger
    in event-time order."""
    columns = (
        ConsentEvent.seq,
        ConsentEvent.customer_ref,
        ConsentEvent.purpose,
        ConsentEvent.channel,
        ConsentEvent.action,
        ConsentEvent.lawful_basis,
        ConsentEvent.event_time,
        ConsentEvent.expires_at,
        ConsentEvent.notice_version,
    )
    query = (
        select(*columns)
        .where(ConsentEvent.event_time <= ends[-1])
        .order_by(ConsentEvent.event_time, ConsentEvent.seq)
        .execution_options(yield_per=5_000)
    )
    state: dict[tuple[str, str, str], StateValues] = {}
    counts: Counter = Counter()
    snapshots: list[Counter] = []
    index = 0
    for event in session.execute(query):
        while index < len(ends) and event.event_time > ends[index]:
            snapshots.append(counts.copy())
            index += 1
        key = (event.customer_ref, event.purpose, event.channel)
        before = state.get(key)
        after = project(before, event)
        state[key] = after
        change = _in_force(after) - _in_force(before)
        if change:
            counts[(event.purpose, event.channel)] += change
    while len(snapshots) < len(ends):
        snapshots.append(counts.copy())
    return snapshots


def consent_rate_trend(session: Session, now: datetime | None = None) -> Panel:
    """The consent rate per purpose and channel at the end of each of the last 12 weeks."""
    ends = week_ends(now or utcnow())
    customers = _customers_at(session, ends)
    snapshots = _in_force_at(session, ends)
    pairs = sorted({pair for snapshot in snapshots for pair in snapshot})
    data = []
    for end, total, snapshot in zip(ends, customers, snapshots, strict=True):
        for purpose, channel in pairs:
            count = snapshot.get((purpose, channel), 0)
            rate = count / total if total else 0.0
            data.append(
                {
                    "week": end.date().isoformat(),
                    "purpose": purpose,
                    "channel": channel,
                    "consenting": count,
                    "customers": total,
                    "rate": f"{rate:.1%}",
                    "_value": round(rate * 100, 1),
                }
            )
    labels = [end.strftime("%d %b") for end in ends]
    charts = []
    for purpose in sorted({purpose for purpose, _ in pairs}):
        lines = {
            channel: [r["_value"] for r in data if (r["purpose"], r["channel"]) == pair]
            for pair in pairs
            if pair[0] == purpose
            for channel in (pair[1],)
        }
        charts.append(
            percent_chart(f"Consent rate for {purpose}, by channel, per week", labels, lines)
        )
    columns = (
        Column("week", "Week ending (UTC)"),
        Column("purpose", "Purpose"),
        Column("channel", "Channel"),
        Column("consenting", "Customers consenting"),
        Column("customers", "Customers on file"),
        Column("rate", "Rate"),
    )
    return Panel(
        "consent-rate-trend",
        "Consent rate per purpose and channel, week by week",
        tuple(charts),
        Table("consent-rate-trend", columns, data),
    )


def time_to_close(session: Session) -> Panel:
    """How long closed requests took, per month of closing: median, slowest, and how many
    closed after the one-month deadline."""
    rows = session.execute(
        select(
            DataSubjectRequest.received_at,
            DataSubjectRequest.closed_at,
            DataSubjectRequest.due_at,
        ).where(DataSubjectRequest.closed_at.is_not(None))
    ).all()
    months: dict[str, list[tuple[float, bool]]] = {}
    for received, closed, due in rows:
        days = (closed - received).total_seconds() / 86_400
        months.setdefault(closed.strftime("%Y-%m"), []).append((days, closed > due))
    data = []
    for month in sorted(months)[-12:]:
        days = [d for d, _late in months[month]]
        median = statistics.median(days)
        data.append(
            {
                "month": month,
                "closed": len(days),
                "median_days": f"{median:.1f}",
                "slowest_days": f"{max(days):.1f}",
                "late": sum(late for _d, late in months[month]),
                "_median": median,
            }
        )
    top = max([DEADLINE_DAYS, *(r["_median"] for r in data)])
    chart = bar_chart(
        f"Median days to close a request, per month closed (deadline: {DEADLINE_DAYS} days)",
        [(r["month"], r["_median"], f"{r['median_days']} days") for r in data],
        maximum=top,
    )
    columns = (
        Column("month", "Month closed"),
        Column("closed", "Requests closed"),
        Column("median_days", "Median days to close"),
        Column("slowest_days", "Slowest (days)"),
        Column("late", "Closed after the deadline"),
    )
    return Panel(
        "time-to-close",
        "Time to close a request",
        chart,
        Table("time-to-close", columns, data),
    )
