"""Importing purchase events from a CSV file (``flask purchases import``).

The file is UTF-8 CSV with the header ``customer,sku,category,amount,at``: the customer's
reference (the pseudonymous id the API also uses), the product's SKU, its category slug, the
amount in currency units (``12.50``, not below zero) and the time as ISO 8601 (a date, or a
date-time with its offset). The whole file is checked first: a bad line stops the import with
its line number and nothing is stored. Each customer's purchases are then recorded at once by
:func:`~app.marketing.purchases.record_purchases`, only where the customer allows it.
"""

from __future__ import annotations

import csv
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

from sqlalchemy.orm import Session

from app.errors import InvalidInput, NotFound
from app.marketing.purchases import clean_purchases, customer_by_ref, record_purchases

HEADER = ["customer", "sku", "category", "amount", "at"]


class PurchaseEventsError(InvalidInput):
    """The file cannot be read or a line is malformed (the message names the line)."""


@dataclass
class ImportSummary:
    """What an import did: purchases stored and duplicates, customers per reason, unknown."""

    stored: int = 0
    duplicates: int = 0
    customers: Counter[str] = field(default_factory=Counter)
    purchases_not_stored: Counter[str] = field(default_factory=Counter)
    unknown_customers: int = 0


def _cents(text: str, where: str) -> int:
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise PurchaseEventsError(f"{where}: amount {text!r} is not a number") from None
    if not amount.is_finite() or amount < 0:
        raise PurchaseEventsError(f"{where}: amount {text!r} is not a number 0 or more")
    return int((amount * 100).to_integral_value())


def read_purchase_events(path: str | Path) -> dict[str, list[dict]]:
    """``{customer ref: [purchase, …]}`` of the file; raises naming the first bad line."""
    name = str(path)
    found: dict[str, list[dict]] = defaultdict(list)
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            rows = csv.reader(handle)
            header = [cell.strip().lower() for cell in next(rows, [])]
            if header != HEADER:
                raise PurchaseEventsError(
                    f"{name}: the first line must be the header {','.join(HEADER)}"
                )
            for line, row in enumerate(rows, start=2):
                if not row:
                    continue
                where = f"{name} line {line}"
                if len(row) != len(HEADER):
                    raise PurchaseEventsError(f"{where}: expected 5 fields, found {len(row)}")
                ref, sku, category, amount, at = (cell.strip() for cell in row)
                if not ref:
                    raise PurchaseEventsError(f"{where}: the customer is empty")
                item = {
                    "sku": sku,
                    "category": category,
                    "amount_cents": _cents(amount, where),
                    "at": at,
                }
                try:
                    found[ref].extend(clean_purchases([item]))
                except InvalidInput as exc:
                    raise PurchaseEventsError(f"{where}: {exc}") from None
    except OSError as exc:
        raise PurchaseEventsError(f"cannot read {name}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise PurchaseEventsError(f"{name} is not UTF-8 text") from None
    except csv.Error as exc:
        raise PurchaseEventsError(f"{name} is not valid CSV: {exc}") from None
    if not found:
        raise PurchaseEventsError(f"{name} holds no purchases")
    return dict(found)


def import_purchases(session: Session, events: dict[str, list[dict]]) -> ImportSummary:
    """Record each customer's purchases where they allow it; unknown customers are counted."""
    summary = ImportSummary()
    for ref, purchases in events.items():
        try:
            customer = customer_by_ref(session, ref)
        except NotFound:
            summary.unknown_customers += 1
            summary.purchases_not_stored["unknown_customer"] += len(purchases)
            continue
        for start in range(0, len(purchases), 200):
            part = purchases[start : start + 200]
            result = record_purchases(session, customer, part, "import")
            summary.stored += result.stored
            summary.duplicates += result.duplicates
            if result.reason not in ("stored", "duplicate"):
                summary.purchases_not_stored[result.reason] += len(part)
        summary.customers[result.reason] += 1
    return summary
