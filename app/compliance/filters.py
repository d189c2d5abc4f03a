"""Reading the console's search filters: dates, date ranges and customers by e-mail address.

Problems are collected per field (for the form to show next to it), never raised.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Select
from sqlalchemy.orm import Session

from app.vault.directory import find_customer_by_email


def parse_day(args: Mapping[str, str], name: str, errors: dict[str, str]) -> date | None:
    """The ISO date in ``args[name]``; ``None`` when empty or malformed (then noted)."""
    value = (args.get(name) or "").strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        errors[name] = "Enter a date as YYYY-MM-DD."
        return None


def check_range(since: date | None, until: date | None, errors: dict[str, str]) -> None:
    """Note a range whose end comes before its start."""
    if since and until and since > until:
        errors["until"] = "The end date is before the start date."


def within_days(query: Select, column, since: date | None, until: date | None) -> Select:
    """``query`` limited to ``column`` from the start of ``since`` to the end of ``until``
    (UTC days, both included)."""
    if since:
        query = query.where(column >= datetime.combine(since, time(), UTC))
    if until and until < date.max:  # the last day of the calendar has no end to compare with
        query = query.where(column < datetime.combine(until + timedelta(days=1), time(), UTC))
    return query


def customer_ref_for_email(session: Session, email: str, errors: dict[str, str]) -> str | None:
    """The pseudonymous reference of the customer holding ``email`` (blind index), or noted."""
    customer = find_customer_by_email(session, email)
    if customer is None:
        errors["email"] = "No customer holds this e-mail address (or it was erased)."
        return None
    return customer.ref
