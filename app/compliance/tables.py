"""Tables as shown in the console, exportable as CSV and JSON with the same columns and rows.

A page builds a :class:`Table` once; the template renders it and the export routes serialise
it, so an export always holds exactly what the officer saw (all pages of it, not one).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

#: Leading characters a spreadsheet would treat as a formula (CSV injection, OWASP).
_FORMULA_LEADS = ("=", "+", "-", "@", "\t", "\r")

EXPORT_FORMATS = ("csv", "json")


@dataclass(frozen=True, slots=True)
class Column:
    """One column: the key in each row, and the heading shown and exported."""

    key: str
    heading: str


@dataclass(frozen=True, slots=True)
class Table:
    """Named columns and rows (mappings from column key to value)."""

    name: str
    columns: Sequence[Column]
    rows: Sequence[dict[str, Any]]


def plain(value: Any) -> Any:
    """A JSON-friendly form of ``value`` (times as ISO 8601 in UTC, bytes as hex)."""
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    return value


def _csv_cell(value: Any) -> str:
    value = plain(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    if text.startswith(_FORMULA_LEADS) and not _is_number(text):
        return "'" + text
    return text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def to_csv(columns: Sequence[Column], rows: Iterable[dict[str, Any]]) -> str:
    """RFC 4180 CSV with a heading row; cells that a spreadsheet would run are defused."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([column.heading for column in columns])
    for row in rows:
        writer.writerow([_csv_cell(row.get(column.key)) for column in columns])
    return out.getvalue()


def to_json(name: str, columns: Sequence[Column], rows: Iterable[dict[str, Any]]) -> str:
    """A JSON document: the table's name, its columns and its rows keyed by column key."""
    document = {
        "table": name,
        "columns": [{"key": c.key, "heading": c.heading} for c in columns],
        "rows": [{c.key: plain(row.get(c.key)) for c in columns} for row in rows],
    }
    return json.dumps(document, ensure_ascii=False, indent=1)
