"""Ids and entry numbers in paths, query strings and forms: one reading for all of them.

An id is a whole number its column can hold: ASCII digits only, from 0 to :data:`MAX_ID` for
the tables keyed by ``Integer`` (32 bits on PostgreSQL, where a larger parameter is an error,
not "no such row") and to :data:`MAX_BIG_ID` for those keyed by ``BigInteger`` (ledger
entries, outbox entries). Nothing else ever reaches a query, so no driver overflows on
``99999999999999999999`` and no ``int()`` fails on ``²`` (a digit to ``str.isdigit`` but
not to ``int``).

* In paths, :class:`IdConverter` is the ``int`` converter of every route, and
  :class:`BigIdConverter` (``<bigid:…>``) the one of routes to 64-bit ids: a larger number is
  the address of nothing (404) before any view runs.
* In query strings, :func:`page_cursor` reads ``before=`` / ``after=`` keyset cursors and
  answers 400 naming the cursor when it is malformed.
* In forms, :func:`parse_id` returns ``None`` for anything that is not an id.
"""

from __future__ import annotations

import re

from flask import Flask, request
from werkzeug.routing import IntegerConverter, Map

from app.web.errors import bad_request

#: The largest id of a table keyed by ``Integer`` (PostgreSQL's ``integer`` is 32-bit).
MAX_ID = 2**31 - 1
#: The largest id of a table keyed by ``BigInteger`` (64-bit signed).
MAX_BIG_ID = 2**63 - 1
_DIGITS = re.compile(r"[0-9]{1,19}")


def parse_id(text: object, largest: int = MAX_ID) -> int | None:
    """``text`` as an id up to ``largest``, or ``None`` when it is not one (ASCII digits)."""
    if not isinstance(text, str) or not _DIGITS.fullmatch(text):
        return None
    number = int(text)
    return number if number <= largest else None


def page_cursor(name: str, largest: int = MAX_ID) -> int | None:
    """The keyset cursor ``name`` of the query string (an id up to ``largest``); ``None`` when
    absent. A cursor that is not one stops the request with a 400 that names it."""
    value = request.args.get(name, "")
    if value == "":
        return None
    number = parse_id(value, largest)
    if number is None:
        bad_request(f"The page cursor {name!r} must be an entry number.")
    return number


class IdConverter(IntegerConverter):
    """An id in a path: 0 to :data:`MAX_ID`, written in ASCII digits."""

    regex = r"[0-9]+"
    largest = MAX_ID

    def __init__(self, map: Map, *args, **kwargs) -> None:
        """Werkzeug's integer converter, bounded to the ids the column can hold."""
        kwargs.setdefault("max", self.largest)
        super().__init__(map, *args, **kwargs)


class BigIdConverter(IdConverter):
    """A 64-bit id in a path (ledger and outbox entries): 0 to :data:`MAX_BIG_ID`."""

    largest = MAX_BIG_ID


def init_app(app: Flask) -> None:
    """Register the id converters (before any route is added): ``int`` and ``bigid``."""
    app.url_map.converters["int"] = IdConverter
    app.url_map.converters["bigid"] = BigIdConverter
