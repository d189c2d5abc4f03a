"""Ids and entry numbers in paths, query strings and forms: one reading for all of them.

An id is a whole number a database can hold: ASCII digits only, from 0 to :data:`MAX_ID`
(2**63 - 1, the largest 64-bit signed integer, the widest id column on every engine). Nothing
else ever reaches a query, so no driver overflows on ``99999999999999999999`` and no ``int()``
fails on ``²`` (a digit to ``str.isdigit`` but not to ``int``).

* In paths, :class:`IdConverter` is the ``int`` converter of every route: a larger number is
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

#: The largest id any table can hold (64-bit signed integer).
MAX_ID = 2**63 - 1
_DIGITS = re.compile(r"[0-9]{1,19}")


def parse_id(text: object) -> int | None:
    """``text`` as an id, or ``None`` when it is not ASCII digits of a number up to MAX_ID."""
    if not isinstance(text, str) or not _DIGITS.fullmatch(text):
        return None
    number = int(text)
    return number if number <= MAX_ID else None


def page_cursor(name: str) -> int | None:
    """The keyset cursor ``name`` of the query string (an entry number); ``None`` when absent.

    A cursor that is not an entry number stops the request with a 400 that names it.
    """
    value = request.args.get(name, "")
    if value == "":
        return None
    number = parse_id(value)
    if number is None:
        bad_request(f"The page cursor {name!r} must be an entry number.")
    return number


class IdConverter(IntegerConverter):
    """A database id in a path: 0 to :data:`MAX_ID`, written in ASCII digits."""

    regex = r"[0-9]+"

    def __init__(self, map: Map, *args, **kwargs) -> None:
        """Werkzeug's integer converter, bounded to the ids a database can hold."""
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def init_app(app: Flask) -> None:
    """Make :class:`IdConverter` the ``int`` converter of every route (before they are added)."""
    app.url_map.converters["int"] = IdConverter
