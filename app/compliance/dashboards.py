"""Aggregates for the compliance dashboards, and the geometry of their server-drawn charts.

Every figure is a count over pseudonymous rows (no one is named). Each chart comes with the
table it is drawn from, which the page shows as the accessible alternative and exports.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from app.campaigns.models import CampaignDecision
from app.compliance.models import DataSubjectRequest
from app.compliance.tables import Column, Table
from app.customers.models import Customer
from app.ledger.models import ConsentEvent, ConsentState
from app.marketing.charts import BarChart, bar_chart
from app.models_base import utcnow
from app.outbox.models import OutboxEntry

WEEKS = 12
GIVING = ("granted", "confirmed", "renewed")
ENDING = ("withdrawn", "expired", "objected")

# Line chart geometry (SVG user units).
LINE_WIDTH, LINE_HEIGHT = 640, 240
PAD_LEFT, PAD_RIGHT, PAD_TOP, PAD_BOTTOM = 48, 16, 16, 40


@dataclass(frozen=True, slots=True)
class Series:
    """One line: its name, CSS class, and the SVG points (``"x,y x,y …"``)."""

    name: str
    css_class: str
    points: str


@dataclass(frozen=True, slots=True)
class LineChart:
    """Lines over labelled x positions, with y-axis ticks."""

    title: str
    width: int
    height: int
    series: tuple[Series, ...]
    x_labels: tuple[tuple[float, str], ...]
    y_ticks: tuple[tuple[float, str], ...]


def line_chart(title: str, labels: Sequence[str], lines: Mapping[str, Sequence[int]]) -> LineChart:
    """Lines for ``lines`` (name -> one value per label), scaled to the largest value."""
    top = max((max(values, default=0) for values in lines.values()), default=0) or 1
    span_x = LINE_WIDTH - PAD_LEFT - PAD_RIGHT
    span_y = LINE_HEIGHT - PAD_TOP - PAD_BOTTOM
    step = span_x / max(len(labels) - 1, 1)

    def y(value: float) -> float:
        return round(PAD_TOP + span_y * (1 - value / top), 1)

    series = tuple(
        Series(
            name,
            "line" if index == 0 else "line alt",
            " ".join(f"{round(PAD_LEFT + i * step, 1)},{y(v)}" for i, v in enumerate(values)),
        )
        for index, (name, values) in enumerate(lines.items())
    )
    every = max(len(labels) // 6, 1)
    x_labels = tuple(
        (round(PAD_LEFT + i * step, 1), label) for i, label in enumerate(labels) if i % every == 0
    )
    y_ticks = tuple((y(top * f), str(round(top * f))) for f in (0, 0.5, 1))
    return LineChart(title, LINE_WIDTH, LINE_HEIGHT, series, x_labels, y_ticks)


@dataclass(frozen=True)
class Panel:
    """One dashboard panel: a chart and the table it is drawn from."""

    key: str
    title: str
    chart: BarChart | LineChart | None
    table: Table


def _week_start(moment: datetime) -> datetime:
    day = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    return day - timedelta(days=day.weekday())


def consent_rates(session: Session) -> Panel:
    """Share of (not erased) customers whose consent is in force, per purpose and channel."""
    customers = (
        session.scalar(
            select(func.count()).select_from(Customer).where(Customer.erased_at.is_(None))
        )
        or 0
    )
    rows = session.execute(
        select(ConsentState.purpose, ConsentState.channel, func.count())
        .where(ConsentState.status == "granted", ConsentState.confirmed.is_(True))
        .group_by(ConsentState.purpose, ConsentState.channel)
        .order_by(ConsentState.purpose, ConsentState.channel)
    ).all()
    data = []
    for purpose, channel, count in rows:
        rate = count / customers if customers else 0.0
        data.append(
            {
                "purpose": purpose,
                "channel": channel,
                "customers": count,
                "rate": f"{rate:.1%}",
                "_value": rate,
            }
        )
    chart = bar_chart(
        "Consent in force, share of customers",
        [(f"{r['purpose']} · {r['channel']}", r["_value"], r["rate"]) for r in data],
        maximum=1.0,
    )
    columns = (
        Column("purpose", "Purpose"),
        Column("channel", "Channel"),
        Column("customers", "Customers consenting"),
        Column("rate", "Rate"),
    )
    return Panel(
        "consent-rates",
        f"Consent rate per purpose and channel ({customers} customers)",
        chart,
        Table("consent-rates", columns, data),
    )


def weekly_consent_activity(session: Session, now: datetime | None = None) -> Panel:
    """Consents given and ended (withdrawn, expired, objected) per week, last 12 weeks."""
    now = now or utcnow()
    first = _week_start(now) - timedelta(weeks=WEEKS - 1)
    weeks = [first + timedelta(weeks=i) for i in range(WEEKS)]
    # Counted in SQL: each event falls in the first week whose end is after it.
    week_of = case(
        *(
            (ConsentEvent.event_time < week + timedelta(weeks=1), index)
            for index, week in enumerate(weeks)
        ),
        else_=WEEKS,
    )
    kind = case((ConsentEvent.action.in_(GIVING), "given"), else_="ended")
    events = (
        select(week_of.label("week"), ConsentEvent.purpose, kind.label("kind"))
        .where(
            ConsentEvent.event_time >= first,
            ConsentEvent.event_time < first + timedelta(weeks=WEEKS),
            ConsentEvent.action.in_(GIVING + ENDING),
        )
        .subquery()
    )
    rows = session.execute(
        select(events.c.week, events.c.purpose, events.c.kind, func.count()).group_by(
            events.c.week, events.c.purpose, events.c.kind
        )
    )
    counts = {(weeks[index], purpose, how): n for index, purpose, how, n in rows}
    purposes = sorted({purpose for (_, purpose, _) in counts})
    data = []
    for week in weeks:
        for purpose in purposes:
            given, ended = (
                counts.get((week, purpose, "given"), 0),
                counts.get((week, purpose, "ended"), 0),
            )
            if given or ended:
                data.append(
                    {
                        "week": week.date().isoformat(),
                        "purpose": purpose,
                        "given": given,
                        "ended": ended,
                    }
                )
    totals = {
        "given": [sum(counts.get((w, p, "given"), 0) for p in purposes) for w in weeks],
        "withdrawn, expired or objected": [
            sum(counts.get((w, p, "ended"), 0) for p in purposes) for w in weeks
        ],
    }
    chart = line_chart(
        "Consents given and ended per week (all purposes)",
        [w.strftime("%d %b") for w in weeks],
        totals,
    )
    columns = (
        Column("week", "Week starting"),
        Column("purpose", "Purpose"),
        Column("given", "Given"),
        Column("ended", "Withdrawn, expired or objected"),
    )
    return Panel(
        "consent-activity",
        "Consents given and withdrawn over time",
        chart,
        Table("consent-activity", columns, data),
    )


def expiring_soon(session: Session, now: datetime | None = None) -> Panel:
    """Consents in force that expire within 30, 60 and 90 days, per purpose."""
    now = now or utcnow()
    within = [
        func.sum(case((ConsentState.expires_at < now + timedelta(days=days), 1), else_=0))
        for days in (30, 60, 90)
    ]
    rows = session.execute(
        select(ConsentState.purpose, *within)
        .where(
            ConsentState.status == "granted",
            ConsentState.expires_at.is_not(None),
            ConsentState.expires_at >= now,
            ConsentState.expires_at < now + timedelta(days=90),
        )
        .group_by(ConsentState.purpose)
        .order_by(ConsentState.purpose)
    )
    data = [
        {"purpose": purpose, "d30": int(d30), "d60": int(d60), "d90": int(d90)}
        for purpose, d30, d60, d90 in rows
    ]
    chart = bar_chart(
        "Consents expiring within 90 days",
        [(r["purpose"], r["d90"], f"{r['d30']} / {r['d60']} / {r['d90']}") for r in data],
    )
    columns = (
        Column("purpose", "Purpose"),
        Column("d30", "Within 30 days"),
        Column("d60", "Within 60 days"),
        Column("d90", "Within 90 days"),
    )
    return Panel(
        "expiring",
        "Consents expiring soon (30 / 60 / 90 days)",
        chart,
        Table("consents-expiring", columns, data),
    )


def denied_sends(session: Session) -> Panel:
    """Messages the policy held back, per rule: at audience time and at send time."""
    audience: dict[str | None, int] = dict(
        session.execute(
            select(CampaignDecision.rule_id, func.count())
            .where(CampaignDecision.outcome == "deny")
            .group_by(CampaignDecision.rule_id)
        )
        .tuples()
        .all()
    )
    at_send: dict[str | None, int] = dict(
        session.execute(
            select(OutboxEntry.decision_rule, func.count())
            .where(OutboxEntry.status == "denied")
            .group_by(OutboxEntry.decision_rule)
        )
        .tuples()
        .all()
    )
    rules = sorted(
        set(audience) | set(at_send), key=lambda r: -(audience.get(r, 0) + at_send.get(r, 0))
    )
    totals = {rule: audience.get(rule, 0) + at_send.get(rule, 0) for rule in rules}
    data = [
        {
            "rule": rule or "unknown",
            "audience": audience.get(rule, 0),
            "send_time": at_send.get(rule, 0),
            "total": totals[rule],
        }
        for rule in rules
    ]
    chart = bar_chart(
        "Denied sends per rule",
        [(rule or "unknown", totals[rule], str(totals[rule])) for rule in rules],
    )
    columns = (
        Column("rule", "Rule"),
        Column("audience", "Denied when the audience was built"),
        Column("send_time", "Denied at the send-time re-check"),
        Column("total", "Total"),
    )
    return Panel("denied", "Denied sends per rule", chart, Table("denied-sends", columns, data))


def request_volume(session: Session) -> Panel:
    """Data-subject requests per month of receipt, and the median days to close them."""
    rows = session.execute(
        select(DataSubjectRequest.received_at, DataSubjectRequest.closed_at)
    ).all()
    months: dict[str, dict] = {}
    for received, closed in rows:
        key = received.strftime("%Y-%m")
        month = months.setdefault(key, {"month": key, "received": 0, "closed": 0, "_days": []})
        month["received"] += 1
        if closed is not None:
            month["closed"] += 1
            month["_days"].append((closed - received).total_seconds() / 86_400)
    data = []
    for key in sorted(months)[-12:]:
        month = months[key]
        days = month.pop("_days")
        month["median_days"] = f"{statistics.median(days):.1f}" if days else ""
        data.append(month)
    chart = bar_chart(
        "Requests received per month",
        [(r["month"], r["received"], str(r["received"])) for r in data],
    )
    columns = (
        Column("month", "Month"),
        Column("received", "Received"),
        Column("closed", "Closed"),
        Column("median_days", "Median days to close"),
    )
    return Panel(
        "requests",
        "Request volume and time to close",
        chart,
        Table("request-volume", columns, data),
    )


PANELS = {
    "consent-rates": consent_rates,
    "consent-activity": weekly_consent_activity,
    "expiring": expiring_soon,
    "denied": denied_sends,
    "requests": request_volume,
}


def all_panels(session: Session) -> list[Panel]:
    """Every dashboard panel, in display order."""
    return [build(session) for build in PANELS.values()]
